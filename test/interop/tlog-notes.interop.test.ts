/**
 * Acceptance (issue 3): every signed-note, checkpoint and cosignature vector in
 * ../shared/interop/tlog gives its expected result — `signed-notes.json` (C2SP, Go sumdb,
 * sum.golang.org, Sigsum, Rekor v2 with real witness cosignatures), the checkpoint of
 * `tiles-70000-generated.json` reproduced byte for byte from its published seeds, and the
 * checkpoints of `rekor-inclusion-and-checkpoints.json`.
 * Data: ../../../shared/interop/tlog (README.md there); formats: reference/transparency-log.md §2.1–§2.3.
 * Specs: https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint, https://c2sp.org/tlog-cosignature.
 */
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CustodyError } from '../../src/domain/errors.js';
import { formatCheckpoint, parseCheckpoint, verifyCheckpoint } from '../../src/log/checkpoint.js';
import { hashLeaf, verifyInclusion } from '../../src/log/merkle.js';
import {
  ecdsaNoteVerifier,
  ed25519RawPublicKey,
  formatVerifierKey,
  noteKeyId,
  openNote,
  parseVerifierKey,
  signNote,
  type Verifier,
} from '../../src/log/signed-note.js';

// CI clones the repository next to shared/, so locate it from this file, never by absolute path.
const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const tlogDir = path.resolve(repoRoot, '../shared/interop/tlog');

function readVectors<T>(file: string, schema: z.ZodType<T>): T {
  return schema.parse(JSON.parse(readFileSync(path.join(tlogDir, file), 'utf8')));
}

/** An Ed25519 private key from its 32-byte RFC 8032 seed (PKCS#8 v1 wrapping). */
function ed25519FromSeed(seedHex: string): KeyObject {
  const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return createPrivateKey({ key: Buffer.concat([pkcs8Prefix, Buffer.from(seedHex, 'hex')]), format: 'der', type: 'pkcs8' });
}

function verificationFailure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe('VERIFICATION_FAILED');
    return (error as CustodyError).message;
  }
  throw new Error('expected VERIFICATION_FAILED, but the note was accepted');
}

const hex = z.string().regex(/^[0-9a-f]*$/);
const openVectorSchema = z.object({
  id: z.string(),
  verifier_keys: z.array(z.string()),
  note: z.string().optional(),
  note_bytes_hex: hex.optional(),
  note_rule: z.string().optional(),
  want: z.object({
    valid: z.boolean(),
    error: z.string().optional(),
    text: z.string().optional(),
    verified_signers: z.array(z.string()).optional(),
    origin: z.string().optional(),
    tree_size: z.number().optional(),
    root_hash_b64: z.string().optional(),
    cosignatures: z.array(z.object({ witness: z.string(), timestamp: z.number() })).optional(),
  }),
  ed25519_seed_hex: hex.optional(),
});
const signedNotes = readVectors(
  'signed-notes.json',
  z.object({
    open_vectors: z.array(openVectorSchema),
    signing_vector: z.object({
      signer_key: z.string(),
      ed25519_seed_hex: hex,
      ed25519_public_hex: hex,
      verifier_key: z.string(),
      text: z.string(),
      want_signed_note: z.string(),
    }),
    bad_verifier_keys: z.array(z.object({ vkey: z.string(), why: z.string() })),
    cosignature_vector: z.object({
      witness_verifier_key: z.string(),
      ed25519_seed_hex: hex,
      checkpoint_body: z.string(),
      signed_message: z.string(),
      lines: z.array(z.object({ line: z.string(), want: z.string() })),
    }),
  }),
);
type OpenVector = z.infer<typeof openVectorSchema>;

/** The note bytes of a vector: its text, its raw bytes, or (Go's 101-signature case) its rule. */
function noteOf(vector: OpenVector): string | Buffer {
  if (vector.note !== undefined) return vector.note;
  if (vector.note_bytes_hex !== undefined) return Buffer.from(vector.note_bytes_hex, 'hex');
  expect(vector.note_rule).toBe("text + '\\n' + (PeterNeumann signature line repeated 101 times)");
  return repeatedSignatureNote(101);
}

function repeatedSignatureNote(count: number): string {
  const { text, want_signed_note: signed } = signedNotes.signing_vector;
  const line = signed.slice(text.length + 1);
  return `${text}\n${line.repeat(count)}`;
}

describe('signed-notes.json: open_vectors', () => {
  it.each(signedNotes.open_vectors.map((v) => [v.id, v] as const))('%s', (_id, vector) => {
    const verifiers = vector.verifier_keys.map(parseVerifierKey);
    const note = noteOf(vector);
    const { want } = vector;
    if (!want.valid) {
      const message = verificationFailure(() => openNote(note, verifiers));
      const error = want.error ?? '';
      if (error.startsWith('malformed')) expect(message).toMatch(/^malformed note/);
      else if (error.startsWith('invalid signature')) expect(message).toMatch(/^invalid signature for key PeterNeumann\+c74f20a3$/);
      else if (error.startsWith('no verifiable')) expect(message).toMatch(/^no signature from a known key/);
      else throw new Error(`unexpected want.error ${error}`);
      return;
    }
    const opened = openNote(note, verifiers);
    if (want.text !== undefined) expect(opened.text).toBe(want.text);
    const signers = opened.verified.filter((v) => v.type === 0x01).map((v) => v.name);
    if (want.verified_signers !== undefined) expect(signers).toEqual(want.verified_signers);
    const cosigners = opened.verified.filter((v) => v.type === 0x04).map((v) => ({ witness: v.name, timestamp: Number(v.timestamp) }));
    expect(cosigners).toEqual(want.cosignatures ?? []);
    if (want.tree_size !== undefined) {
      const checkpoint = parseCheckpoint(opened.text);
      expect(checkpoint.size).toBe(BigInt(want.tree_size));
      if (want.origin !== undefined) expect(checkpoint.origin).toBe(want.origin);
      if (want.root_hash_b64 !== undefined) expect(checkpoint.rootHash.toString('base64')).toBe(want.root_hash_b64);
    }
  });

  it('accepts the Go note with the signature line repeated 100 times (the bound is 100)', () => {
    const verifiers = [parseVerifierKey(signedNotes.signing_vector.verifier_key)];
    expect(openNote(repeatedSignatureNote(100), verifiers).verified.map((v) => v.name)).toEqual(['PeterNeumann']);
  });

  it('reproduces the Sigsum deterministic checkpoint byte for byte from its seed', () => {
    const vector = signedNotes.open_vectors.find((v) => v.id === 'sigsum-checkpoint-deterministic');
    const seed = vector?.ed25519_seed_hex;
    const note = vector?.note;
    if (seed === undefined || note === undefined) throw new Error('sigsum vector missing');
    const verifier = parseVerifierKey(vector?.verifier_keys[0] ?? '');
    const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
    expect(signNote(text, { name: verifier.name, privateKey: ed25519FromSeed(seed) })).toBe(note);
    expect(verifyCheckpoint(note, verifier).size).toBe(10n);
  });

  it('verifies the real sum.golang.org checkpoint, whose origin differs from its key name', () => {
    const vector = signedNotes.open_vectors.find((v) => v.id === 'sum.golang.org-checkpoint-2024-09-23');
    const verifier = parseVerifierKey(vector?.verifier_keys[0] ?? '');
    const note = vector?.note ?? '';
    expect(verificationFailure(() => verifyCheckpoint(note, verifier))).toMatch(/origin mismatch: expected "sum\.golang\.org", got "go\.sum database tree"/);
    expect(verifyCheckpoint(note, verifier, 'go.sum database tree').size).toBe(30055305n);
  });

  it('the Rekor v2 checkpoint verifies as a checkpoint and its log ID is the full C2SP key hash', () => {
    const vector = signedNotes.open_vectors.find((v) => v.id === 'rekor-v2-staging-checkpoint-with-witness-cosignatures');
    const [logKey, ...witnessKeys] = (vector?.verifier_keys ?? []).map(parseVerifierKey);
    if (logKey === undefined) throw new Error('rekor vector missing');
    const checkpoint = verifyCheckpoint(vector?.note ?? '', logKey);
    expect(checkpoint.size).toBe(4026479n);
    const fullId = createHash('sha256').update(`${logKey.name}\n\u0001`).update(logKey.publicKey).digest();
    expect(fullId.toString('base64')).toBe('09OnDKEw7/hpZiYVPoTRzRbglHk0sylsUovegnRUlJY=');
    expect(witnessKeys.map((k) => k.type)).toEqual([0x04, 0x04, 0x04]);
    // A witness cosignature alone is not the log's signature.
    const witnessesOnly = openNote(vector?.note ?? '', witnessKeys);
    expect(witnessesOnly.verified.map((v) => v.name)).not.toContain(logKey.name);
  });
});

describe('signed-notes.json: signing_vector', () => {
  const vector = signedNotes.signing_vector;

  it('reproduces the Go PeterNeumann signed note byte for byte', () => {
    // Go's private-key form: PRIVATE+KEY+<name>+<hex id>+base64(0x01 ‖ seed).
    // The base64 part may itself contain '+', so only the first four are separators.
    const parts = vector.signer_key.split('+');
    const [prefix1, prefix2, name = '', idHex = ''] = parts;
    const encoded = parts.slice(4).join('+');
    expect(`${prefix1 ?? ''}+${prefix2 ?? ''}`).toBe('PRIVATE+KEY');
    const seed = Buffer.from(encoded, 'base64');
    expect(seed[0]).toBe(0x01);
    expect(seed.subarray(1).toString('hex')).toBe(vector.ed25519_seed_hex);
    const privateKey = ed25519FromSeed(vector.ed25519_seed_hex);
    expect(ed25519RawPublicKey(privateKey).toString('hex')).toBe(vector.ed25519_public_hex);
    expect(formatVerifierKey(name, ed25519RawPublicKey(privateKey))).toBe(vector.verifier_key);
    expect(noteKeyId(name, 0x01, ed25519RawPublicKey(privateKey)).toString('hex')).toBe(idHex);
    expect(signNote(vector.text, { name, privateKey })).toBe(vector.want_signed_note);
  });
});

describe('signed-notes.json: bad_verifier_keys', () => {
  it.each(signedNotes.bad_verifier_keys.map((k) => [k.why, k.vkey] as const))('rejects a vkey with %s', (_why, vkey) => {
    let caught: unknown;
    try {
      parseVerifierKey(vkey);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CustodyError);
    expect((caught as CustodyError).code).toBe('VALIDATION_FAILED');
  });
});

describe('signed-notes.json: cosignature_vector (tlog-cosignature/v1)', () => {
  const vector = signedNotes.cosignature_vector;
  const witness = parseVerifierKey(vector.witness_verifier_key);

  it('the witness key is the published seed under type 0x04', () => {
    const raw = ed25519RawPublicKey(ed25519FromSeed(vector.ed25519_seed_hex));
    expect(witness.type).toBe(0x04);
    expect(witness.publicKey).toEqual(raw);
    expect(witness.keyId.toString('hex')).toBe('cacf2e50');
    expect(vector.signed_message).toBe(`cosignature/v1\ntime 1234\n${vector.checkpoint_body}`);
  });

  it.each(vector.lines.map((l) => [l.want, l.line] as const))('%s', (want, line) => {
    const note = `${vector.checkpoint_body}\n${line}\n`;
    if (want.startsWith('valid cosignature')) {
      expect(openNote(note, [witness]).verified).toEqual([{ name: 'example.org/witness', keyId: witness.keyId, type: 0x04, timestamp: 1234n }]);
    } else {
      expect(want).toMatch(/^ignore/);
      expect(verificationFailure(() => openNote(note, [witness]))).toMatch(/^no signature from a known key \(ignored lines/);
    }
  });

  it('all three lines together: the unknown ones ignored, the valid one verified', () => {
    const note = `${vector.checkpoint_body}\n${vector.lines.map((l) => `${l.line}\n`).join('')}`;
    expect(openNote(note, [witness]).verified.map((v) => v.timestamp)).toEqual([1234n]);
  });
});

const tiles = readVectors(
  'tiles-70000-generated.json',
  z.object({
    tree_size: z.number(),
    root_hash_hex: hex,
    root_hash_b64: z.string(),
    checkpoint: z.object({
      origin: z.string(),
      note: z.string(),
      log_key: z.object({ name: z.string(), ed25519_seed_hex: hex, public_hex: hex, vkey: z.string() }),
      witness_key: z.object({ name: z.string(), ed25519_seed_hex: hex, public_hex: hex, vkey: z.string(), cosignature_timestamp: z.number() }),
    }),
  }),
);

describe('tiles-70000-generated.json: the signed and cosigned checkpoint', () => {
  const { checkpoint } = tiles;

  it('derives both published vkeys from their seeds', () => {
    for (const key of [checkpoint.log_key, checkpoint.witness_key]) {
      expect(ed25519RawPublicKey(ed25519FromSeed(key.ed25519_seed_hex)).toString('hex')).toBe(key.public_hex);
    }
    expect(formatVerifierKey(checkpoint.log_key.name, Buffer.from(checkpoint.log_key.public_hex, 'hex'))).toBe(checkpoint.log_key.vkey);
  });

  it('reproduces the checkpoint note byte for byte: formatCheckpoint + signNote, then the cosignature', () => {
    const text = formatCheckpoint({ origin: checkpoint.origin, size: tiles.tree_size, rootHash: Buffer.from(tiles.root_hash_hex, 'hex') });
    expect(Buffer.from(tiles.root_hash_hex, 'hex').toString('base64')).toBe(tiles.root_hash_b64);
    const logSigned = signNote(text, { name: checkpoint.log_key.name, privateKey: ed25519FromSeed(checkpoint.log_key.ed25519_seed_hex) });
    expect(checkpoint.note.startsWith(logSigned)).toBe(true);

    // The witness line, built here from the tlog-cosignature text: key ID with type 0x04,
    // u64 timestamp, Ed25519 over "cosignature/v1\ntime <ts>\n" ‖ checkpoint text.
    const w = checkpoint.witness_key;
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(w.cosignature_timestamp));
    const message = Buffer.from(`cosignature/v1\ntime ${w.cosignature_timestamp}\n${text}`);
    const signature = sign(null, message, ed25519FromSeed(w.ed25519_seed_hex));
    const keyId = noteKeyId(w.name, 0x04, Buffer.from(w.public_hex, 'hex'));
    const cosignature = `\u2014 ${w.name} ${Buffer.concat([keyId, ts, signature]).toString('base64')}\n`;
    expect(logSigned + cosignature).toBe(checkpoint.note);
  });

  it('verifies the log signature and the witness cosignature with its timestamp', () => {
    const logKey = parseVerifierKey(checkpoint.log_key.vkey);
    const witness = parseVerifierKey(checkpoint.witness_key.vkey);
    const opened = openNote(checkpoint.note, [logKey, witness]);
    expect(opened.verified.map((v) => [v.name, v.type, v.timestamp])).toEqual([
      [checkpoint.log_key.name, 0x01, undefined],
      [checkpoint.witness_key.name, 0x04, 1_700_000_000n],
    ]);
    const verified = verifyCheckpoint(checkpoint.note, logKey);
    expect(verified.size).toBe(70000n);
    expect(verified.rootHash.toString('hex')).toBe(tiles.root_hash_hex);
  });

  it('rejects the checkpoint under the witness key alone as the log key, and a tampered cosignature', () => {
    const witness = parseVerifierKey(checkpoint.witness_key.vkey);
    const logKey = parseVerifierKey(checkpoint.log_key.vkey);
    const tampered = checkpoint.note.replace(/(— example\.com\/tlog-attest\/witness \S{10})(\S)/u, (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'));
    expect(tampered).not.toBe(checkpoint.note);
    expect(verificationFailure(() => openNote(tampered, [logKey, witness]))).toMatch(/invalid signature for key example\.com\/tlog-attest\/witness\+671190ba/);
  });
});

const rekor = readVectors(
  'rekor-inclusion-and-checkpoints.json',
  z.object({
    cases: z.array(
      z.object({
        id: z.string(),
        log: z.object({
          origin_from_trust_root: z.string(),
          public_key_der_b64: z.string(),
          key_details: z.enum(['PKIX_ECDSA_P256_SHA_256', 'PKIX_ED25519']),
          log_id_b64: z.string(),
        }),
        entry: z.object({ canonicalized_body_b64: z.string() }),
        inclusion_proof: z.object({ log_index: z.number(), tree_size: z.number(), root_hash_b64: z.string(), hashes_b64: z.array(z.string()) }),
        checkpoint_envelope: z.string(),
        want: z.object({
          inclusion_proof_valid: z.boolean(),
          checkpoint_well_formed: z.boolean(),
          checkpoint_matches_proof: z.boolean(),
          log_signature_valid: z.boolean(),
          signature_line_results: z.array(z.enum(['ok', 'ignored', 'BAD'])),
          overall_valid: z.boolean(),
        }),
      }),
    ),
  }),
);
type RekorCase = (typeof rekor.cases)[number];

/** The log's verifier: C2SP Ed25519 for Rekor v2; type 0x02 ECDSA (key ID = SHA-256(SPKI)[:4]) for Rekor v1. */
function rekorVerifier(c: RekorCase): Verifier {
  const der = Buffer.from(c.log.public_key_der_b64, 'base64');
  if (c.log.key_details === 'PKIX_ECDSA_P256_SHA_256') {
    // Rekor v1: the log ID in the bundle is SHA-256 of the DER SPKI, and the note key ID its first 4 bytes.
    expect(createHash('sha256').update(der).digest().toString('base64')).toBe(c.log.log_id_b64);
    return ecdsaNoteVerifier(c.log.origin_from_trust_root, der);
  }
  const raw = ed25519RawPublicKey(createPublicKey({ key: der, format: 'der', type: 'spki' }));
  const verifier = parseVerifierKey(formatVerifierKey(c.log.origin_from_trust_root, raw));
  // Rekor v2: the log ID in the bundle is the full 32-byte C2SP key hash.
  const fullId = createHash('sha256').update(`${c.log.origin_from_trust_root}\n\u0001`).update(raw).digest();
  expect(fullId.toString('base64')).toBe(c.log.log_id_b64);
  return verifier;
}

/** The signature-check outcome, in the vector's terms, as the verifier's error message reports it. */
function expectedSignatureFailure(results: readonly string[]): RegExp {
  if (results.length === 0) return /malformed note: no signature lines/;
  if (results.includes('BAD')) return /invalid signature for key/;
  return /no signature from a known key/;
}

describe('rekor-inclusion-and-checkpoints.json: checkpoints', () => {
  it.each(rekor.cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const verifier = rekorVerifier(c);
    const envelope = c.checkpoint_envelope;
    const { want } = c;

    // Well-formedness, judged on the text alone (before the last blank line).
    const text = envelope.slice(0, envelope.lastIndexOf('\n\n') + 1);
    let parsed: ReturnType<typeof parseCheckpoint> | undefined;
    try {
      parsed = parseCheckpoint(text);
    } catch (error) {
      expect((error as CustodyError).code).toBe('VERIFICATION_FAILED');
    }
    expect(parsed !== undefined).toBe(want.checkpoint_well_formed);
    const matches =
      parsed !== undefined &&
      parsed.size === BigInt(c.inclusion_proof.tree_size) &&
      parsed.rootHash.toString('base64') === c.inclusion_proof.root_hash_b64;
    expect(matches).toBe(want.checkpoint_matches_proof);

    if (verifier.type === 0x01) {
      // Rekor v2 follows C2SP: origin = key name, so verifyCheckpoint checks everything at once.
      if (want.log_signature_valid) {
        expect(verifyCheckpoint(envelope, verifier).size).toBe(BigInt(c.inclusion_proof.tree_size));
      } else {
        expect(verificationFailure(() => verifyCheckpoint(envelope, verifier))).toMatch(expectedSignatureFailure(want.signature_line_results));
      }
    } else {
      // Rekor v1 is supported through the type 0x02 key-ID rule, but its origin is
      // "<key name> - <tree ID>", not the key name: check the signature with openNote and the
      // origin by that convention (verifyCheckpoint's origin rule is C2SP's).
      if (want.log_signature_valid) {
        const opened = openNote(envelope, [verifier]);
        expect(opened.verified.map((v) => v.type)).toEqual([0x02]);
        expect(parseCheckpoint(opened.text).origin).toMatch(new RegExp(`^${c.log.origin_from_trust_root.replaceAll('.', '\\.')} - [0-9]+$`));
      } else {
        expect(verificationFailure(() => openNote(envelope, [verifier]))).toMatch(expectedSignatureFailure(want.signature_line_results));
      }
    }
  });
});

describe('rekor-inclusion-and-checkpoints.json: inclusion proofs (src/log/merkle.ts)', () => {
  it.each(rekor.cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const leafHash = hashLeaf(Buffer.from(c.entry.canonicalized_body_b64, 'base64'));
    const proof = c.inclusion_proof.hashes_b64.map((h) => Buffer.from(h, 'base64'));
    const root = Buffer.from(c.inclusion_proof.root_hash_b64, 'base64');
    const check = (): void => {
      verifyInclusion(leafHash, c.inclusion_proof.log_index, c.inclusion_proof.tree_size, proof, root);
    };
    if (c.want.inclusion_proof_valid) expect(check).not.toThrow();
    else expect(verificationFailure(check)).toMatch(/inclusion proof/);

    // overall = proof ∧ checkpoint matches the proof ∧ log signature, each asserted above and in
    // the checkpoint suite; here the vector's own arithmetic is held to that definition.
    expect(c.want.overall_valid).toBe(c.want.inclusion_proof_valid && c.want.checkpoint_matches_proof && c.want.log_signature_valid);
  });
});
