import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadOrCreateLogKey } from '../src/log/log-key.js';
import { TransparencyLog } from '../src/service/transparency-log.js';
import { openMetadataStore } from '../src/store/open-metadata-store.js';
import { registrationEvents, seededRandom } from './log-events.js';
import { appendWithoutReceipts } from './log-loader.js';
import { summarise } from './log-stats.js';
const dir = '/tmp/x/big';
const fresh = !existsSync(`${dir}/big.db`);
const key = await loadOrCreateLogKey(`${dir}/k.pem`, 'custody.local/log');
const store = await openMetadataStore('sqlite:big.db', dir);
await store.migrate();
if (fresh) for (let s = 0; s < 1_000_000; s += 10000) await appendWithoutReceipts(store, key, registrationEvents(s, 10000));
const log = new TransparencyLog(store, key);
const rnd = seededRandom(1);
const size = await store.logSize();
for (let round = 0; round < 3; round++) {
  const inc: number[] = [], ent: number[] = [], cp: number[] = [], rd: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const idx = Math.floor(rnd() * size);
    let t = performance.now(); await log.proveInclusion(idx); inc.push(performance.now() - t);
    t = performance.now(); await store.getLogEntries(idx, idx + 1); ent.push(performance.now() - t);
    t = performance.now(); await store.getLatestCheckpoint(); cp.push(performance.now() - t);
    t = performance.now(); await store.readLogHashes(Array.from({length: 20}, () => Math.floor(rnd() * 2 * size))); rd.push(performance.now() - t);
  }
  const f = (x: number[]) => { const s = summarise(x); const sorted = [...x].sort((a,b)=>a-b); return `med ${s.median.toFixed(3)} p90 ${sorted[899]?.toFixed(3)} p99 ${s.p99.toFixed(3)} max ${sorted[999]?.toFixed(3)}`; };
  console.log('incl', f(inc)); console.log('entry', f(ent)); console.log('ckpt', f(cp)); console.log('read', f(rd));
}
await store.close();
