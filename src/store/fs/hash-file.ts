/**
 * Re-hashing bytes already on disk, for when no incremental digest covers them (e.g. an upload
 * session resumed after a restart). Independent of the directory layout: it reads a file handle.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/**
 * SHA-256 hex of the first `size` bytes of a file, reading the next buffer (of `bufferSize`
 * bytes, at least 1) while hashing this one.
 */
export async function hashFile(handle: FileHandle, size: number, bufferSize: number): Promise<string> {
  const hash = createHash('sha256');
  let reading = Buffer.allocUnsafe(bufferSize);
  let spare = Buffer.allocUnsafe(bufferSize);
  let position = 0;
  let pending = size > 0 ? handle.read(reading, 0, Math.min(bufferSize, size), 0) : undefined;
  while (pending !== undefined) {
    const { bytesRead } = await pending;
    if (bytesRead <= 0) throw new Error('file shrank while it was hashed');
    position += bytesRead;
    const full = reading;
    reading = spare;
    spare = full;
    pending = position < size ? handle.read(reading, 0, Math.min(bufferSize, size - position), position) : undefined;
    hash.update(full.subarray(0, bytesRead));
  }
  return hash.digest('hex');
}
