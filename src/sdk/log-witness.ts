/**
 * The client's side of the transparency log (SPEC §5): trust only a pinned log key, remember the
 * newest checkpoint verified so far, and demand a consistency proof from it to every newer one.
 * A checkpoint signed by another key, a smaller tree (rollback), a different root at the same
 * size (fork) or a failed consistency proof (rewritten history) is VERIFICATION_FAILED, with a
 * message naming what did not verify. `verifyEntry` proves that one log entry is included in a
 * verified checkpoint and returns its event; `verifyRegistration` uses it to prove that a
 * version's `version.registered` event is in the log and names exactly the version pulled.
 */
import { z } from 'zod';
import { canonicalJson } from '../crypto/canonical-json.js';
import { CustodyError } from '../domain/errors.js';
import { verifyCheckpoint, type VerifiedCheckpoint } from '../log/checkpoint.js';
import { hashLeaf, verifyConsistency, verifyInclusion } from '../log/merkle.js';
import { parseVerifierKey, type Verifier } from '../log/signed-note.js';
import type { CustodyClient } from './custody-client.js';
import type { VersionBody } from './responses.js';

const fail = (message: string): never => {
  throw new CustodyError('VERIFICATION_FAILED', message);
};

const hex = (h: string): Buffer => Buffer.from(h, 'hex');

const registeredEvent = z.object({ type: z.literal('version.registered'), model: z.string(), number: z.number(), digest: z.string() }).loose();

export class LogWitness {
  private readonly verifier: Verifier;
  private latest: { readonly checkpoint: VerifiedCheckpoint; readonly note: string } | undefined;

  /**
   * @param logKey the pinned verifier key (`<name>+<id>+<key>`)
   * @param lastCheckpoint the newest checkpoint note verified before, if any
   */
  constructor(
    readonly logKey: string,
    lastCheckpoint?: string,
  ) {
    this.verifier = parseVerifierKey(logKey);
    if (lastCheckpoint !== undefined) this.latest = { checkpoint: this.verifySignature(lastCheckpoint, 'the saved checkpoint'), note: lastCheckpoint };
  }

  /** The newest verified checkpoint note (to save for next time). */
  get checkpoint(): string | undefined {
    return this.latest?.note;
  }

  /**
   * Verifies `note` with the pinned key and against the newest checkpoint seen so far; on success
   * it becomes the newest when it is larger.
   */
  async observe(client: CustodyClient, note: string): Promise<VerifiedCheckpoint> {
    const next = this.verifySignature(note, 'the server\'s checkpoint');
    const previous = this.latest?.checkpoint;
    if (previous !== undefined) {
      if (next.size < previous.size) {
        fail(`the log was rolled back: the server shows ${next.size} entries, but a checkpoint of ${previous.size} entries was verified before`);
      }
      if (next.size === previous.size) {
        if (!next.rootHash.equals(previous.rootHash)) fail(`the log forked: two different roots for ${next.size} entries`);
      } else {
        const proof = await client.proveConsistency(Number(previous.size), Number(next.size));
        try {
          verifyConsistency(previous.size, next.size, proof.proof.map(hex), previous.rootHash, next.rootHash);
        } catch (error) {
          fail(
            `the log was rewritten: the checkpoint of ${next.size} entries is not consistent with the one of ${previous.size} entries verified before (${
              error instanceof Error ? error.message : String(error)
            })`,
          );
        }
      }
    }
    if (previous === undefined || next.size > previous.size) this.latest = { checkpoint: next, note };
    return next;
  }

  /**
   * Proves that `version`'s registration event is included in a checkpoint signed by the pinned
   * key (consistent with what was seen before) and names this model, number and digest.
   */
  async verifyRegistration(client: CustodyClient, version: VersionBody): Promise<{ logIndex: number; treeSize: number }> {
    const index = version.registration?.logIndex;
    if (index === undefined || index === null) fail('the server names no log entry for this version\'s registration');
    const logIndex = index as number;
    const { event: parsed, treeSize } = await this.verifyEntry(client, logIndex, 'the registration');
    const event = registeredEvent.safeParse(parsed);
    if (!event.success) return fail(`log entry ${logIndex} is not a version.registered event`);
    const expectedModel = `${version.namespace}/${version.name}`;
    if (event.data.digest !== version.digest || event.data.model !== expectedModel || event.data.number !== version.number) {
      fail(`log entry ${logIndex} registers ${event.data.model}@v${event.data.number} ${event.data.digest}, not ${expectedModel}@v${version.number} ${version.digest}`);
    }
    return { logIndex, treeSize };
  }

  /**
   * Proves that log entry `logIndex` is included in a checkpoint signed by the pinned key
   * (consistent with what was seen before) and returns its event, parsed from the exact leaf
   * bytes, which must be canonical JSON. The caller checks what the event says. `what` names
   * the entry in failure messages ("the registration", "the key.added event of key x", …).
   */
  async verifyEntry(client: CustodyClient, logIndex: number, what: string): Promise<{ logIndex: number; treeSize: number; event: unknown }> {
    if (!Number.isSafeInteger(logIndex) || logIndex < 0) return fail(`the server names no valid log entry for ${what}`);
    const proof = await client.proveInclusion(logIndex);
    if (proof.checkpoint === null) return fail('the server sent no checkpoint with the inclusion proof');
    const checkpoint = await this.observe(client, proof.checkpoint);
    if (Number(checkpoint.size) !== proof.treeSize) fail('the inclusion proof is for another tree size than its checkpoint');
    const entry = await client.logEntry(logIndex);
    const leafHash = hashLeaf(Buffer.from(entry.leaf, 'utf8'));
    if (leafHash.toString('hex') !== proof.leafHash || entry.leafHash !== proof.leafHash || entry.index !== logIndex || proof.index !== logIndex) {
      fail(`log entry ${logIndex} does not hash to the leaf the proof is about`);
    }
    try {
      verifyInclusion(leafHash, logIndex, proof.treeSize, proof.proof.map(hex), checkpoint.rootHash);
    } catch (error) {
      fail(`${what} (log entry ${logIndex}) is not included in the signed checkpoint: ${error instanceof Error ? error.message : String(error)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(entry.leaf);
    } catch {
      return fail(`log entry ${logIndex} is not JSON`);
    }
    let canonical: string | undefined;
    try {
      canonical = canonicalJson(parsed);
    } catch {
      canonical = undefined;
    }
    if (canonical !== entry.leaf) fail(`log entry ${logIndex} is not canonical JSON`);
    return { logIndex, treeSize: proof.treeSize, event: parsed };
  }

  private verifySignature(note: string, what: string): VerifiedCheckpoint {
    try {
      return verifyCheckpoint(note, this.verifier);
    } catch (error) {
      return fail(`${what} is not signed by the pinned log key ${this.verifier.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
