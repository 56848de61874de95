/**
 * Synthetic transparency-log events for `bench:log`: `version.registered` events shaped exactly
 * like the ones `RegistryService.register` appends (SPEC §4.4) — actor, model, number, three
 * `sha256:` digests, file count and size — about 480 bytes of canonical JSON each. Event `i` is
 * a pure function of `i`, so every leaf is distinct and every run appends the same bytes.
 */
import { createHash } from 'node:crypto';
import type { LogEvent } from '../src/domain/log-event.js';

const MODELS = 50;
const START_MS = Date.UTC(2025, 5, 1);

function digest(kind: string, i: number): string {
  return `sha256:${createHash('sha256').update(`${kind}:${i}`).digest('hex')}`;
}

/** The `i`-th event of the benchmark's history. */
export function registrationEvent(i: number): LogEvent {
  return {
    v: 1,
    type: 'version.registered',
    time: new Date(START_MS + i * 1000).toISOString(),
    actor: { principal: `ci-publisher-${i % 3}`, kind: 'service', via: 'token' },
    model: `team-${i % 5}/model-${i % MODELS}`,
    number: Math.floor(i / MODELS) + 1,
    digest: digest('manifest', i),
    omsRootDigest: digest('oms', i),
    fileCount: 1 + (i % 40),
    totalSize: 1_000_000 + ((i * 7919) % 5_000_000_000),
    annotationsDigest: digest('annotations', i),
  };
}

/** Events `start` … `start + count - 1`. */
export function registrationEvents(start: number, count: number): LogEvent[] {
  return Array.from({ length: count }, (_, k) => registrationEvent(start + k));
}

/** A small seeded PRNG (mulberry32): the sampled indexes are the same in every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
