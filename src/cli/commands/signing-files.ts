/**
 * File input and output of the offline signing commands: key, certificate, bundle and predicate
 * files are read with a size cap (they are small; anything huge is a mistake or an attack), and
 * signatures are written whole or not at all (temp file + rename), so a crash never leaves half
 * a bundle where a verifier would look for one.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import nodePath from 'node:path';
import { CustodyError } from '../../domain/errors.js';

/** Reads `file` as UTF-8 text, refusing more than `maxBytes`. USAGE when missing or too big. */
export async function readLimitedText(file: string, maxBytes: number, what: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new CustodyError('USAGE', `cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: error });
  }
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new CustodyError('USAGE', `${what} ${file} is larger than ${maxBytes} bytes`);
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Writes `text` to `file` atomically (a temp file beside it, then rename). */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  const target = nodePath.resolve(file);
  const temp = nodePath.join(nodePath.dirname(target), `.${nodePath.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw new CustodyError('USAGE', `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
}

/** Creates `file` with `mode`, failing if it exists (`wx`: the mode is set at creation, never after). */
export async function createExclusive(file: string, text: string, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'wx', mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CustodyError('USAGE', `${file} already exists; refusing to overwrite it`, { cause: error });
    throw new CustodyError('USAGE', `cannot create ${file}: ${code ?? 'error'}`, { cause: error });
  }
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}
