/**
 * Where a resumable upload session's bytes live in the bucket, and how its offset is read back
 * (issue 7 §1: sessions resumable across replicas). Layout under `uploads/<session>/`:
 *   `session`                 empty marker written by createUpload (the session exists)
 *   `part-<offset, 16 digits>` one object per stored piece of an append, named by its start
 * Nothing about a session is kept in a replica's memory: the acknowledged offset is the end of the
 * contiguous run of parts from 0, read by listing, so any replica can resume any session. A part
 * is one PUT, atomic in S3, so a crash leaves whole parts only.
 */
import type { Readable } from 'node:stream';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AppendOptions } from '../blob-store.js';
import { sizeMismatch, uploadNotFound } from '../fs/blob-errors.js';
import { consumeSource } from '../fs/consume-source.js';
import { sendS3 } from './s3-call.js';

/** One stored piece of a session. */
export interface SessionPart {
  readonly key: string;
  readonly offset: number;
  readonly size: number;
}

/** A session's stored state. */
export interface SessionListing {
  /** Every key under the session's prefix (marker, parts, anything stray): what abort deletes. */
  readonly keys: readonly string[];
  /** The contiguous parts from offset 0, in order. */
  readonly parts: readonly SessionPart[];
  /** Bytes acknowledged: the end of the last contiguous part. */
  readonly offset: number;
}

export function sessionPrefix(sessionId: string): string {
  return `uploads/${sessionId}/`;
}

export function sessionMarkerKey(sessionId: string): string {
  return `${sessionPrefix(sessionId)}session`;
}

export function sessionPartKey(sessionId: string, offset: number): string {
  return `${sessionPrefix(sessionId)}part-${String(offset).padStart(16, '0')}`;
}

/** Lists a session's objects; throws UPLOAD_NOT_FOUND when it has no marker. */
export async function listSession(client: S3Client, bucket: string, sessionId: string): Promise<SessionListing> {
  const prefix = sessionPrefix(sessionId);
  const keys: string[] = [];
  const found = new Map<number, SessionPart>();
  let marker = false;
  let token: string | undefined;
  do {
    const page = await sendS3('ListObjectsV2', () =>
      client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) })),
    );
    for (const item of page.Contents ?? []) {
      if (item.Key === undefined) continue;
      keys.push(item.Key);
      const name = item.Key.slice(prefix.length);
      if (name === 'session') marker = true;
      const match = /^part-([0-9]{16})$/.exec(name);
      if (match?.[1] !== undefined && typeof item.Size === 'number') {
        const offset = Number(match[1]);
        found.set(offset, { key: item.Key, offset, size: item.Size });
      }
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  if (!marker) throw uploadNotFound(sessionId);
  const parts: SessionPart[] = [];
  let offset = 0;
  for (let part = found.get(0); part !== undefined && part.size > 0; part = found.get(offset)) {
    parts.push(part);
    offset += part.size;
  }
  return { keys, parts, offset };
}

/**
 * Stores the source's bytes as parts of the session from offset `size`, one PUT per `partBytes`
 * (bounded memory). If the source fails, what it delivered is still stored and acknowledged —
 * that is what a resumed push relies on — and the source's error is rethrown.
 */
export async function storeSessionParts(
  target: { readonly client: S3Client; readonly bucket: string; readonly partBytes: number },
  sessionId: string,
  size: number,
  source: Readable,
  options: AppendOptions,
): Promise<number> {
  let stored = size;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const body = Buffer.concat(pending, pendingBytes);
    const key = sessionPartKey(sessionId, stored);
    await sendS3('PutObject', () => target.client.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body, ContentLength: body.length })));
    stored += body.length;
    pending = [];
    pendingBytes = 0;
  };
  let failure: { readonly error: unknown } | undefined;
  try {
    await consumeSource(source, async (chunk) => {
      const total = stored + pendingBytes + chunk.length;
      if (total > options.totalSize) throw sizeMismatch(options.totalSize, total);
      pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      pendingBytes += chunk.length;
      options.onBytes?.(chunk.length);
      if (pendingBytes >= target.partBytes) await flush();
    });
  } catch (error) {
    failure = { error };
  }
  // Whatever the source delivered before it failed is kept: that is what a resumed push relies on.
  try {
    await flush();
  } catch (error) {
    throw failure === undefined ? error : failure.error;
  }
  if (failure !== undefined) throw failure.error;
  return stored;
}
