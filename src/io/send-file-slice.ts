/**
 * Sends an open file slice as an HTTP body — a server's response or a client's request (both are
 * Node `OutgoingMessage`s) — with two buffers reused for the whole transfer:
 * the next read runs in libuv's pool while the previous buffer is written to the socket, and no
 * buffer is allocated per chunk. A stream of fresh 1 MiB chunks costs a large server more than
 * the copying itself: every chunk is external memory to V8, and a gigabyte of them sets off
 * major collections over the whole heap (seen in `npm run bench:transfer` profiles).
 */
import type { FileHandle } from 'node:fs/promises';
import type { OutgoingMessage } from 'node:http';

const BUFFER_BYTES = 1024 * 1024;

/** An open byte range of a file; whoever is handed one closes the handle. */
export interface FileSlice {
  readonly handle: FileHandle;
  readonly start: number;
  readonly length: number;
}

/**
 * Writes `slice` to `res` and ends it; always closes the handle. Rejects when the file is
 * shorter than the slice or the peer went away (the caller destroys the message). `onBytes`
 * hears of each chunk once the socket has taken it.
 */
export async function sendFileSlice(res: OutgoingMessage, slice: FileSlice, onBytes?: (count: number) => void): Promise<void> {
  const { handle, length } = slice;
  try {
    const size = Math.min(BUFFER_BYTES, Math.max(length, 1));
    let filling = Buffer.allocUnsafe(size);
    let spare = Buffer.allocUnsafe(size);
    let sent = 0;
    // The write of the buffer about to be refilled must have finished first.
    let writing: Promise<void> = Promise.resolve();
    let reading = length > 0 ? readInto(slice, filling, 0) : undefined;
    while (reading !== undefined) {
      const count = await reading;
      const filled = filling;
      sent += count;
      await writing;
      filling = spare;
      spare = filled;
      reading = sent < length ? readInto(slice, filling, sent) : undefined;
      writing = write(res, count === filled.length ? filled : filled.subarray(0, count)).then(() => onBytes?.(count));
      // Awaited on the next turn; marked handled now so a failing read meanwhile cannot leave it unhandled.
      writing.catch(() => undefined);
    }
    await writing;
    await untilDone(res, (done) => res.end(() => { done(); }));
  } finally {
    await handle.close();
  }
}

/**
 * The file itself failed (a read error, or fewer bytes than the slice): not the peer's doing, so
 * a caller can tell it from a dropped connection and need not retry.
 */
export class FileSliceReadError extends Error {
  override readonly name = 'FileSliceReadError';
}

/** Reads the slice's next bytes (from `offset` into the slice) into `buffer`; at least one byte. */
async function readInto(slice: FileSlice, buffer: Buffer, offset: number): Promise<number> {
  const want = Math.min(buffer.length, slice.length - offset);
  let bytesRead: number;
  try {
    ({ bytesRead } = await slice.handle.read(buffer, 0, want, slice.start + offset));
  } catch (error) {
    throw new FileSliceReadError(`the file could not be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  if (bytesRead <= 0) throw new FileSliceReadError('the file is shorter than the range being sent');
  return bytesRead;
}

/** Resolves when `chunk` has been handed to the kernel; rejects if the response is gone. */
function write(res: OutgoingMessage, chunk: Buffer): Promise<void> {
  return untilDone(res, (done) => res.write(chunk, done));
}

/**
 * Runs `start` with a completion callback. A response whose socket is already gone may never
 * call it (Node drops writes to a destroyed socket), so the response's `close` rejects instead.
 */
function untilDone(res: OutgoingMessage, start: (done: (error?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const gone = (): void => { reject(new Error('the client went away')); };
    if (res.destroyed) {
      gone();
      return;
    }
    res.once('close', gone);
    start((error) => {
      res.off('close', gone);
      if (error === undefined || error === null) resolve();
      else reject(error);
    });
  });
}
