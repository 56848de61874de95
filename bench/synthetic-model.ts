/**
 * Synthetic models for the transfer benchmark: files of pseudo-random bytes generated fast and
 * without ever holding a file in memory. One 4 MiB block of `crypto.randomBytes` is made once;
 * every block written is that block rotated by an offset derived from (file, block number) and
 * stamped with both numbers, so no two blocks of any file are equal (no accidental dedup, no
 * compressible runs) while generation costs little more than the disk writes.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';

const BLOCK_BYTES = 4 * 1024 * 1024;
/** Every file carries its stamp in full, so files of the same size still differ. */
const MIN_FILE_BYTES = 64;

/** A generated model: what to push, and the files to hash for the openssl baseline. */
export interface SyntheticModel {
  /** The path given to `custody push`: the file of a single-file model, else the directory. */
  readonly root: string;
  /** Absolute paths of every file, for the baseline. */
  readonly files: readonly string[];
  readonly bytes: number;
}

/** Writes pseudo-random content; one instance per benchmark run. */
export class BlockPattern {
  private readonly base = randomBytes(BLOCK_BYTES);
  private readonly block = Buffer.allocUnsafe(BLOCK_BYTES);

  /** Block `index` of file `fileId`: the base rotated by a per-block offset, stamped with both. */
  blockFor(fileId: number, index: number): Buffer {
    const offset = ((fileId * 1_000_003 + index * 7_919) * 64) % BLOCK_BYTES;
    this.base.copy(this.block, 0, offset);
    if (offset > 0) this.base.copy(this.block, BLOCK_BYTES - offset, 0, offset);
    this.block.writeUInt32LE(fileId, 0);
    this.block.writeUInt32LE(index, 4);
    return this.block;
  }

  /** Creates (or truncates) `file` with `size` bytes of file `fileId`'s content. */
  async writeFile(file: string, size: number, fileId: number): Promise<void> {
    const handle = await open(file, 'w', 0o644);
    try {
      let written = 0;
      for (let index = 0; written < size; index++) {
        const length = Math.min(BLOCK_BYTES, size - written);
        const block = this.blockFor(fileId, index);
        let done = 0;
        while (done < length) {
          const { bytesWritten } = await handle.write(block, done, length - done, written + done);
          done += bytesWritten;
        }
        written += length;
      }
    } finally {
      await handle.close();
    }
  }
}

/** A single-file model of `size` bytes at `file`. */
export async function generateSingleFileModel(pattern: BlockPattern, file: string, size: number, fileId: number): Promise<SyntheticModel> {
  await mkdir(path.dirname(file), { recursive: true });
  await pattern.writeFile(file, size, fileId);
  return { root: file, files: [file], bytes: size };
}

/**
 * A directory model of `fileCount` files totalling exactly `totalBytes`: sizes spread
 * log-uniformly over 12 binary orders of magnitude (many small files, a few large ones, as in a
 * sharded checkpoint with tokenizer and config files), nested one to three directories deep,
 * with a few non-ASCII names. The layout comes from a seeded PRNG, so it is the same every run.
 */
export async function generateDirectoryModel(pattern: BlockPattern, root: string, fileCount: number, totalBytes: number, firstFileId: number): Promise<SyntheticModel> {
  const random = mulberry32(0xc0ffee);
  const weights = Array.from({ length: fileCount }, () => 2 ** (random() * 12));
  const weightSum = weights.reduce((sum, w) => sum + w, 0);
  const spread = totalBytes - fileCount * MIN_FILE_BYTES;
  const sizes = weights.map((w) => MIN_FILE_BYTES + Math.floor((w / weightSum) * spread));
  const largest = sizes.indexOf(Math.max(...sizes));
  sizes[largest] = (sizes[largest] ?? 0) + totalBytes - sizes.reduce((sum, s) => sum + s, 0);

  const files: string[] = [];
  for (let i = 0; i < fileCount; i++) {
    const depth = 1 + Math.floor(random() * 3);
    const dirs = [`group-${Math.floor(random() * 10)}`, `part-${Math.floor(random() * 8)}`, `shard-${Math.floor(random() * 5)}`].slice(0, depth);
    if (i % 250 === 0) dirs.push('données-ü');
    const file = path.join(root, ...dirs, `tensor-${String(i).padStart(4, '0')}.bin`);
    await mkdir(path.dirname(file), { recursive: true });
    await pattern.writeFile(file, sizes[i] ?? MIN_FILE_BYTES, firstFileId + i);
    files.push(file);
  }
  return { root, files, bytes: totalBytes };
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
