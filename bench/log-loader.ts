/**
 * Fast construction of a large log for `bench:log`: exactly the store writes of
 * `TransparencyLog.append` — leaves in canonical JSON, leaf hashes, the new stored subtree
 * hashes, the head, and a signed checkpoint per transaction — without the per-event receipts
 * (one inclusion proof, i.e. one stored-hash read, per event), which are most of what a large
 * batch costs and which nobody reads while the benchmark builds its 1,000,000-entry log. The
 * stored rows are the ones `append` would store; the benchmark checks this by verifying proofs
 * against the signed checkpoints and by appending real batches on top.
 */
import { canonicalJson } from '../src/crypto/canonical-json.js';
import type { LogEvent } from '../src/domain/log-event.js';
import { formatCheckpoint } from '../src/log/checkpoint.js';
import type { LogKey } from '../src/log/log-key.js';
import { hashLeaf } from '../src/log/merkle.js';
import { signNote } from '../src/log/signed-note.js';
import { appendStoredHashes, treeRoot, type StoredHashReader } from '../src/log/stored-hashes.js';
import type { MetadataStore } from '../src/store/metadata-store.js';

/** Appends `events` in one transaction as `TransparencyLog.append` would, minus receipts; returns the new size. */
export async function appendWithoutReceipts(store: MetadataStore, key: LogKey, events: readonly LogEvent[]): Promise<number> {
  const leaves = events.map((event) => canonicalJson(event));
  const leafHashes = leaves.map((leaf) => hashLeaf(Buffer.from(leaf, 'utf8')));
  return store.transaction(async (tx) => {
    const start = await tx.lockLogHead();
    const read: StoredHashReader = (ids) => tx.readLogHashes(ids);
    const hashes = await appendStoredHashes(start, leafHashes, read);
    await tx.insertLogEntries(
      start,
      events.map((event, i) => {
        const [namespace, name] = splitModel(event.model);
        return { leaf: leaves[i] ?? '', leafHash: (leafHashes[i] ?? Buffer.alloc(0)).toString('hex'), type: event.type, time: event.time, namespace, name };
      }),
    );
    await tx.insertLogHashes(hashes.map((h) => ({ id: h.id, hash: h.hash })));
    const size = start + events.length;
    await tx.setLogHead(size);
    const root = await treeRoot(size, read);
    const note = signNote(formatCheckpoint({ origin: key.name, size, rootHash: root }), { name: key.name, privateKey: key.privateKey });
    await tx.insertCheckpoint({ size, note, createdAt: events[events.length - 1]?.time ?? new Date().toISOString() });
    return size;
  });
}

/** `namespace/name` → [namespace, name], as the log stores them for audit filters. */
function splitModel(model: string | undefined): [string | null, string | null] {
  if (model === undefined) return [null, null];
  const slash = model.indexOf('/');
  return slash < 0 ? [null, null] : [model.slice(0, slash), model.slice(slash + 1)];
}
