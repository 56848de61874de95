/**
 * TransparencyLog.append over both metadata stores: a batch gets one receipt per event, each
 * verifying against the batch's signed checkpoint, and batches chain into one consistent log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/domain/log-event.js';
import { verifyCheckpoint } from '../../src/log/checkpoint.js';
import { loadOrCreateLogKey } from '../../src/log/log-key.js';
import { verifyConsistency, verifyInclusion } from '../../src/log/merkle.js';
import { parseVerifierKey } from '../../src/log/signed-note.js';
import { TransparencyLog } from '../../src/service/transparency-log.js';
import { metadataStoreFactories, type OpenedMetadataStore } from '../support/databases.js';

const event = (i: number): LogEvent => ({
  v: 1,
  type: 'version.rejected',
  time: new Date(1_700_000_000_000 + i).toISOString(),
  actor: { principal: 'tester', kind: 'user', via: 'token' },
  model: 'team/m',
  code: 'BLOB_MISSING',
  attempt: i,
});

describe.each(metadataStoreFactories)('transparency log on $name', (factory) => {
  let opened: OpenedMetadataStore;
  let dir: string;
  let log: TransparencyLog;

  beforeEach(async () => {
    opened = await factory.open();
    dir = await mkdtemp(path.join(tmpdir(), 'custody-tlog-'));
    log = new TransparencyLog(opened.store, await loadOrCreateLogKey(path.join(dir, 'log.key'), 'custody.local/log'));
  });

  afterEach(async () => {
    await opened.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives every event of a batch a receipt that verifies against the batch checkpoint', async () => {
    const verifier = parseVerifierKey(log.verifierKey);
    let previous: { size: number; root: Buffer } | undefined;
    let next = 0;
    for (const batch of [1, 5, 17, 3]) {
      const events = Array.from({ length: batch }, () => event(next++));
      const receipts = await opened.store.transaction((tx) => log.append(tx, events));
      expect(receipts.map((r) => r.logIndex)).toEqual(events.map((_, i) => next - batch + i));
      for (const receipt of receipts) {
        const checkpoint = verifyCheckpoint(receipt.checkpoint, verifier);
        expect(Number(checkpoint.size)).toBe(next);
        verifyInclusion(Buffer.from(receipt.leafHash, 'hex'), receipt.logIndex, receipt.treeSize, receipt.inclusionProof.map((h) => Buffer.from(h, 'hex')), checkpoint.rootHash);
      }
      const root = verifyCheckpoint(receipts[0]?.checkpoint ?? '', verifier).rootHash;
      if (previous !== undefined) {
        const proof = await log.proveConsistency(previous.size, next);
        verifyConsistency(previous.size, next, proof.proof.map((h) => Buffer.from(h, 'hex')), previous.root, root);
      }
      previous = { size: next, root };
    }
    expect((await log.latestCheckpoint()).size).toBe(26);
  });

  it('appends nothing when the transaction fails after the append', async () => {
    await opened.store.transaction((tx) => log.append(tx, [event(0)]));
    await expect(
      opened.store.transaction(async (tx) => {
        await log.append(tx, [event(1), event(2)]);
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    expect(await opened.store.logSize()).toBe(1);
    expect((await log.latestCheckpoint()).size).toBe(1);
  });
});
