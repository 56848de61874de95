/**
 * How a blob store reads the caller's stream. Kept on its own because the rule it enforces is
 * part of the `BlobStore` contract, not of the directory store: source failures become
 * CLIENT_ABORTED, and a source past a limit is destroyed rather than read on.
 */
import type { Readable } from 'node:stream';
import { CustodyError } from '../../domain/errors.js';

/**
 * Feeds each chunk of `source` to `accept`. Errors of the source become CLIENT_ABORTED (a
 * `CustodyError` the source was destroyed with is kept as is); an error of `accept` stops
 * reading, destroys the source and is rethrown as is.
 */
export async function consumeSource(source: Readable, accept: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  let rejected: { readonly error: unknown } | undefined;
  try {
    for await (const chunk of source as AsyncIterable<unknown>) {
      try {
        await accept(toBytes(chunk));
      } catch (error) {
        rejected = { error };
        break;
      }
    }
  } catch (error) {
    throw error instanceof CustodyError
      ? error
      : new CustodyError('CLIENT_ABORTED', 'the upload stream ended abnormally', { cause: error });
  }
  if (rejected !== undefined) {
    source.destroy();
    throw rejected.error;
  }
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new CustodyError('INTERNAL', 'a blob source must yield bytes');
}
