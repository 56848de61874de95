/**
 * C2SP checkpoints: the signed statement "the log with this origin has this size and root",
 * which clients pin and compare with consistency proofs (SPEC §5).
 * Spec: https://c2sp.org/tlog-checkpoint (v1.0.0), carried in a https://c2sp.org/signed-note.
 * Byte-level notes: reference/transparency-log.md §2.2.
 *
 * Note text: origin line, tree size in ASCII decimal (no leading zeros, at most 2^63−1), base64
 * RFC 6962 root hash (32 bytes), then optional non-empty extension lines; every line ends in LF.
 */
import { CustodyError } from '../domain/errors.js';
import {
  containsControlCharacter,
  decodeBase64Strict,
  openNote,
  SIGNATURE_TYPE,
  type OpenedNote,
  type VerifiedSignature,
  type Verifier,
} from './signed-note.js';

/** Largest tree size a checkpoint may state (C2SP: a u64 that fits in an int64). */
export const MAX_TREE_SIZE = (1n << 63n) - 1n;

export interface CheckpointInput {
  readonly origin: string;
  readonly size: bigint | number;
  /** The RFC 6962 root hash, 32 bytes. */
  readonly rootHash: Uint8Array;
  /** Optional extension lines (NOT RECOMMENDED by C2SP; each non-empty). */
  readonly extensions?: readonly string[];
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: bigint;
  readonly rootHash: Buffer;
  readonly extensions: readonly string[];
}

export interface VerifiedCheckpoint extends Checkpoint {
  /** The signed note text the checkpoint was parsed from. */
  readonly text: string;
  /** The verified signature(s) of the log key; `verifyCheckpoint` trusts that one key only. */
  readonly signatures: readonly VerifiedSignature[];
}

const SIZE_PATTERN = /^(0|[1-9][0-9]*)$/;

/** The checkpoint note text (to be signed with `signNote`). Throws VALIDATION_FAILED on bad input. */
export function formatCheckpoint(checkpoint: CheckpointInput): string {
  const { origin, rootHash, extensions = [] } = checkpoint;
  if (!isTextLine(origin)) invalid('checkpoint origin must be a non-empty line of text');
  const size = typeof checkpoint.size === 'bigint' ? checkpoint.size : toBigInt(checkpoint.size);
  if (size < 0n || size > MAX_TREE_SIZE) invalid('checkpoint size must be between 0 and 2^63-1');
  if (rootHash.length !== 32) invalid('checkpoint root hash must be 32 bytes');
  for (const line of extensions) {
    if (!isTextLine(line)) invalid('checkpoint extension lines must be non-empty lines of text');
  }
  const lines = [origin, size.toString(10), Buffer.from(rootHash).toString('base64'), ...extensions];
  return `${lines.join('\n')}\n`;
}

/**
 * Parses checkpoint note text (the `text` of an opened note). Throws VERIFICATION_FAILED
 * ("malformed checkpoint: …") on a missing line, an empty origin, a size with a sign, leading
 * zeros or above 2^63−1, a root that is not canonical base64 of 32 bytes, or an empty extension.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) malformed('text does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || origin === '') malformed('origin line is empty');
  if (containsControlCharacter(text)) malformed('contains a control character');
  if (sizeLine === undefined) malformed('size line is missing');
  if (!SIZE_PATTERN.test(sizeLine)) malformed(`size line ${JSON.stringify(sizeLine.slice(0, 32))} is not a decimal tree size without leading zeros`);
  // 2^63−1 has 19 digits: the length check keeps BigInt off a hostile megabyte of digits.
  const size = sizeLine.length <= 19 ? BigInt(sizeLine) : MAX_TREE_SIZE + 1n;
  if (size > MAX_TREE_SIZE) malformed('size is larger than 2^63-1');
  if (rootLine === undefined) malformed('root hash line is missing');
  const rootHash = decodeBase64Strict(rootLine);
  if (rootHash === undefined || rootHash.length !== 32) malformed('root hash line is not the base64 of 32 bytes');
  if (extensions.some((line) => line === '')) malformed('extension lines must not be empty');
  return { origin, size, rootHash, extensions };
}

/**
 * Verifies a signed checkpoint note with the log's key and parses it: the note must carry a
 * valid signature from `verifier` (other signature lines are ignored), be a well-formed
 * checkpoint, and name `expectedOrigin` (default: the key name, as C2SP recommends). Throws
 * VERIFICATION_FAILED naming what failed: the signature, the format, or the origin.
 */
export function verifyCheckpoint(note: string | Uint8Array, verifier: Verifier, expectedOrigin: string = verifier.name): VerifiedCheckpoint {
  if (verifier.type === SIGNATURE_TYPE.cosignatureV1) {
    throw new CustodyError('VALIDATION_FAILED', 'a witness cosigner key cannot verify a checkpoint as the log key');
  }
  const opened = openSignedBy(note, verifier);
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== expectedOrigin) {
    throw new CustodyError('VERIFICATION_FAILED', `checkpoint origin mismatch: expected ${JSON.stringify(expectedOrigin)}, got ${JSON.stringify(checkpoint.origin)}`);
  }
  return { ...checkpoint, text: opened.text, signatures: opened.verified };
}

function openSignedBy(note: string | Uint8Array, verifier: Verifier): OpenedNote {
  try {
    return openNote(note, [verifier]);
  } catch (error) {
    if (error instanceof CustodyError && error.code === 'VERIFICATION_FAILED') {
      throw new CustodyError('VERIFICATION_FAILED', `checkpoint signature: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** A non-empty line of valid text: no newline, no other control character, no lone surrogate. */
function isTextLine(line: string): boolean {
  return line !== '' && !line.includes('\n') && !containsControlCharacter(line) && line.isWellFormed();
}

function toBigInt(size: number): bigint {
  if (!Number.isSafeInteger(size)) invalid('checkpoint size must be a non-negative integer');
  return BigInt(size);
}

function malformed(why: string): never {
  throw new CustodyError('VERIFICATION_FAILED', `malformed checkpoint: ${why}`);
}

function invalid(message: string): never {
  throw new CustodyError('VALIDATION_FAILED', message);
}
