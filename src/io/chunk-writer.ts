/**
 * Writes chunks that nobody reuses (the fresh buffers an HTTP response yields) to a file without
 * copying them: each chunk is hashed as it arrives and queued, and the queue is written with one
 * `writev` per megabyte while the next megabyte arrives. Where a producer may reuse its buffers
 * (the server's upload path), `staged-writer.ts` copies instead, so the bytes hashed are the
 * bytes written.
 */
import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { OverlappedWriter } from './overlapped-writer.js';

const BATCH_BYTES = 1024 * 1024;

export class ChunkWriter extends OverlappedWriter {
  /** Bytes accepted so far (the file offset after the last queued byte). */
  end = 0;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private written = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly hash: Hash,
  ) {
    super();
  }

  /** Hashes and queues `chunk` (which must not change afterwards); throws an earlier write's error. */
  async push(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    this.end += chunk.length;
    if (this.queuedBytes >= BATCH_BYTES) await this.rotate();
  }

  protected waitingBytes(): number {
    return this.queuedBytes;
  }

  protected writeWaiting(): Promise<void> {
    const batch = this.queued;
    const position = this.written;
    this.written += this.queuedBytes;
    this.queued = [];
    this.queuedBytes = 0;
    return writevFully(this.handle, batch, position);
  }
}

async function writevFully(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, at);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    at += bytesWritten;
    rest = dropBytes(rest, bytesWritten);
  }
}

/** The buffers after the first `count` bytes (a short write leaves the tail of one buffer). */
function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  let index = 0;
  while (index < buffers.length && left >= (buffers[index]?.length ?? 0)) {
    left -= buffers[index]?.length ?? 0;
    index++;
  }
  const rest = buffers.slice(index);
  const first = rest[0];
  if (first !== undefined && left > 0) rest[0] = first.subarray(left);
  return rest;
}
