/**
 * The double-buffered hashing writer behind every blob write on the server and every file a pull
 * writes on the client. It knows a file handle and an offset, nothing of the directory layout or
 * of HTTP, so both sides share it: hashing-while-writing with two buffers reused for a whole
 * file, rather than a stream that allocates per chunk.
 */
import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { OverlappedWriter } from './overlapped-writer.js';

/**
 * Copies chunks into large buffers, hashing exactly the copied bytes, and writes a full buffer
 * while the next one fills: hashing on the main thread overlaps the disk write in libuv's pool,
 * and the bytes hashed are the bytes written even if a producer reuses its chunk buffers.
 */
export class StagedWriter extends OverlappedWriter {
  /** Bytes accepted so far, i.e. the file offset after the last staged byte. */
  end: number;
  /** File offset up to which writes have completed. */
  written: number;
  private current: Buffer;
  private spare: Buffer | undefined;
  private filled = 0;

  /**
   * @param start file offset of the first byte to write
   * @param bufferSize size of each of the two staging buffers
   * @param hash updated with every staged byte; undefined when no digest is wanted
   */
  constructor(
    private readonly handle: FileHandle,
    start: number,
    bufferSize: number,
    private readonly hash: Hash | undefined,
  ) {
    super();
    this.end = start;
    this.written = start;
    this.current = Buffer.allocUnsafe(bufferSize);
  }

  /** Stages (and hashes) `chunk`; throws the error of an earlier write that failed. */
  async push(chunk: Uint8Array): Promise<void> {
    let taken = 0;
    while (taken < chunk.length) {
      const count = Math.min(chunk.length - taken, this.current.length - this.filled);
      this.current.set(chunk.subarray(taken, taken + count), this.filled);
      this.hash?.update(this.current.subarray(this.filled, this.filled + count));
      this.filled += count;
      taken += count;
      this.end += count;
      if (this.filled === this.current.length) await this.rotate();
    }
  }

  protected waitingBytes(): number {
    return this.filled;
  }

  protected async writeWaiting(): Promise<void> {
    const buffer = this.current;
    const length = this.filled;
    this.current = this.spare ?? Buffer.allocUnsafe(buffer.length);
    this.spare = buffer;
    this.filled = 0;
    await writeFully(this.handle, buffer, length, this.written);
    this.written += length;
  }
}

async function writeFully(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await handle.write(buffer, done, length - done, position + done);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}
