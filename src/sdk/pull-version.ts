/**
 * The pull half of the SDK: check the server's manifest against the version digest before a
 * byte is fetched, stream every file into a temporary directory beside the target while hashing
 * it, and rename the directory into place only when every file and the version digest verified.
 * With a log witness, the registration's log inclusion is proven and every attestation is
 * re-verified (`attestation-check.ts`) before a byte is fetched, so a lying registry fails the
 * pull before anything is written. For `NS/NAME@ENV` the environment's placement is checked
 * first too (`environment-check.ts`: no quarantine, a VSA that verifies with the pinned VSA key).
 * A failure leaves the target as it was and no temporary files behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CustodyError } from '../domain/errors.js';
import { ChunkWriter } from '../io/chunk-writer.js';
import { parseDigest } from '../domain/digest.js';
import { manifestDigest, toManifest, type Manifest, type ManifestFile } from '../domain/manifest.js';
import type { ModelRef } from '../domain/model-ref.js';
import { checkAttestations, type AttestationReport } from './attestation-check.js';
import type { CustodyClient } from './custody-client.js';
import { checkEnvironmentPlacement, type EnvironmentPlacement, type VsaKeySource } from './environment-check.js';
import type { LogWitness } from './log-witness.js';
import type { VersionBody } from './responses.js';

export interface PullOptions {
  /** Target directory (or file, for a single-file model). Default: the model name / file name. */
  readonly output?: string;
  /** Replace a non-empty target. */
  readonly force?: boolean;
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Checks run on the version before any byte is fetched (e.g. its log inclusion); throw to stop. */
  readonly verifyVersion?: (version: VersionBody) => Promise<void>;
  /**
   * The pinned log key and newest verified checkpoint: pull then proves the registration's log
   * inclusion and re-verifies every attestation against the key records and their log events.
   */
  readonly witness?: LogWitness;
  /**
   * For `NS/NAME@ENV`: the pinned VSA key the placement's VSA must verify with (needed when a
   * promotion decision placed the version there).
   */
  readonly vsaKey?: VsaKeySource;
}

export interface PullResult {
  readonly path: string;
  readonly version: VersionBody;
  readonly files: number;
  readonly bytes: number;
  /** Where the registration sits in the log (with a witness; else null). */
  readonly registration: { readonly logIndex: number; readonly treeSize: number } | null;
  /** Which attestations are valid, by the client's own checks (with a witness; else null). */
  readonly attestations: AttestationReport | null;
  /** For `NS/NAME@ENV`: how the version came to be there, as checked (else null). */
  readonly placement: EnvironmentPlacement | null;
}

/** Checks the server's file list: safe paths, and a manifest that hashes to the version digest. */
function verifyManifest(ref: ModelRef, version: VersionBody): Manifest {
  const manifest = toManifest(version.files.map((f) => ({ path: f.path, size: f.size, sha256: parseDigest(f.digest).hex })));
  const computed = manifestDigest(manifest);
  if (computed !== version.digest) {
    throw new CustodyError('VERIFICATION_FAILED', `the file list the server sent hashes to ${computed}, not to the version digest ${version.digest}`);
  }
  if (ref.selector.kind === 'digest' && ref.selector.digest !== version.digest) {
    throw new CustodyError('VERIFICATION_FAILED', `asked for ${ref.selector.digest} but the server answered with ${version.digest}`);
  }
  return manifest;
}

async function existingKind(p: string): Promise<'none' | 'empty-dir' | 'dir' | 'file'> {
  try {
    const s = await stat(p);
    if (!s.isDirectory()) return 'file';
    return (await readdir(p)).length === 0 ? 'empty-dir' : 'dir';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw error;
  }
}

export async function pullVersion(client: CustodyClient, ref: ModelRef, version: VersionBody, options: PullOptions): Promise<PullResult> {
  const manifest = verifyManifest(ref, version);
  await options.verifyVersion?.(version);
  const witness = options.witness;
  const registration = witness === undefined ? null : await witness.verifyRegistration(client, version);
  const attestations = witness === undefined ? null : await checkAttestations(client, witness, version);
  const placement =
    ref.selector.kind === 'environment'
      ? await checkEnvironmentPlacement(client, ref, version, { ...(witness === undefined ? {} : { witness }), ...(options.vsaKey === undefined ? {} : { vsaKey: options.vsaKey }) })
      : null;
  const single = version.singleFile && manifest.files.length === 1;
  const first = manifest.files[0];
  const target = path.resolve(options.output ?? (single && first !== undefined ? first.path : version.name));
  const kind = await existingKind(target);
  if (single && kind === 'dir') throw new CustodyError('TARGET_NOT_EMPTY', `${target} is a directory; a single-file model is written as a file`);
  if (single && kind === 'empty-dir') throw new CustodyError('TARGET_NOT_EMPTY', `${target} is a directory; a single-file model is written as a file`);
  if ((kind === 'dir' || kind === 'file') && options.force !== true) {
    throw new CustodyError('TARGET_NOT_EMPTY', `${target} exists and is not empty (use --force to replace it)`);
  }

  const total = manifest.files.reduce((s, f) => s + f.size, 0);
  let done = 0;
  const onBytes = (n: number): void => {
    done += n;
    options.onProgress?.(done, total);
  };
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.custody-${randomBytes(6).toString('hex')}`);
  try {
    if (single && first !== undefined) {
      await download(client, first, temp, onBytes);
    } else {
      await mkdir(temp, { mode: 0o755 });
      // Each directory once, before the downloads, rather than a mkdir per file.
      const dirs = new Set(manifest.files.map((f) => path.dirname(path.join(temp, ...f.path.split('/')))));
      for (const dir of [...dirs].sort()) await mkdir(dir, { recursive: true });
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < manifest.files.length) {
          const file = manifest.files[next++];
          if (file === undefined) return;
          await download(client, file, path.join(temp, ...file.path.split('/')), onBytes);
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, manifest.files.length) }, worker));
    }
    await publish(temp, target, kind);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return { path: target, version, files: manifest.files.length, bytes: total, registration, attestations, placement };
}

/**
 * Streams one blob into `dest` (created exclusively), hashing each chunk as it arrives and writing
 * the chunks themselves, a megabyte per `writev` in libuv's pool while the next one arrives
 * (`io/chunk-writer.ts`). More bytes than the manifest declares stop the transfer.
 */
async function download(client: CustodyClient, file: ManifestFile, dest: string, onBytes: (n: number) => void): Promise<void> {
  const response = await client.getBlob(`sha256:${file.sha256}`);
  const hash = createHash('sha256');
  let handle: FileHandle;
  try {
    handle = await open(dest, 'wx', 0o644);
  } catch (error) {
    response.body.destroy();
    throw error;
  }
  try {
    const writer = new ChunkWriter(handle, hash);
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        if (writer.end + chunk.length > file.size) {
          throw new CustodyError('VERIFICATION_FAILED', `${file.path}: the server sent more bytes than the manifest declares`);
        }
        await writer.push(chunk);
        onBytes(chunk.length);
      }
      await writer.flush();
    } catch (error) {
      response.body.destroy();
      await writer.settle();
      throw error;
    }
    if (writer.end !== file.size) {
      throw new CustodyError('VERIFICATION_FAILED', `${file.path}: received ${writer.end} bytes, the manifest declares ${file.size}`);
    }
  } finally {
    await handle.close();
  }
  const actual = hash.digest('hex');
  if (actual !== file.sha256) {
    throw new CustodyError('VERIFICATION_FAILED', `${file.path}: content hashes to sha256:${actual}, the manifest declares sha256:${file.sha256}`);
  }
}

/** Moves the verified temporary tree into place; a replaced target is removed only afterwards. */
async function publish(temp: string, target: string, kind: Awaited<ReturnType<typeof existingKind>>): Promise<void> {
  if (kind === 'none') {
    await rename(temp, target);
    return;
  }
  const old = `${temp}.old`;
  await rename(target, old);
  try {
    await rename(temp, target);
  } catch (error) {
    await rename(old, target);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}
