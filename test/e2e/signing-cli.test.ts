/**
 * The offline signing tools through the built `custody` CLI (SPEC §8): keygen writes a 0600
 * private key and prints the key id; sign → verify exits 0; a tampered model exits 4 naming the
 * file; attest signs a statement about a model's version digest or a given sha256 digest; and
 * `--json` prints one JSON document. Run `npm run build` first (runCli runs dist/).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyEnvelopeSignature } from '../../src/crypto/dsse.js';
import { parseStatement } from '../../src/crypto/in-toto-statement.js';
import { parsePublicKey } from '../../src/crypto/signing-keys.js';
import { parseBundle } from '../../src/crypto/sigstore-bundle.js';
import { scanModel } from '../../src/sdk/local-model.js';
import { runCli, type CliResult } from '../support/registry.js';

let work: string;
let model: string;
let keyPrefix: string;

function expectOk(result: CliResult): void {
  if (result.code !== 0) throw new Error(`custody exited ${String(result.code)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}

function jsonOf(result: CliResult): Record<string, unknown> {
  expectOk(result);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'custody-signing-cli-'));
  model = path.join(work, 'sentiment-model');
  mkdirSync(path.join(model, 'tokenizer'), { recursive: true });
  writeFileSync(path.join(model, 'config.json'), '{"layers": 2}\n');
  writeFileSync(path.join(model, 'weights.safetensors'), Buffer.alloc(4096, 7));
  writeFileSync(path.join(model, 'tokenizer', 'vocab.txt'), 'a\nb\n');
  keyPrefix = path.join(work, 'signer');
  expectOk(await runCli(['keygen', '--out', keyPrefix]));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('custody keygen', () => {
  it('writes PREFIX.key with mode 0600 and PREFIX.pub, and prints the key id of the public key', async () => {
    const prefix = path.join(work, 'k384');
    const result = jsonOf(await runCli(['--json', 'keygen', '--out', prefix, '--type', 'p384']));
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${prefix}.key`, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    const publicKey = parsePublicKey(readFileSync(`${prefix}.pub`, 'utf8'));
    expect(result).toEqual({ keyId: publicKey.keyId, algorithm: 'ecdsa-p384-sha384', privateKey: `${prefix}.key`, publicKey: `${prefix}.pub` });

    const human = await runCli(['keygen', '--out', path.join(work, 'ed'), '--type', 'ed25519']);
    expectOk(human);
    const edKey = parsePublicKey(readFileSync(path.join(work, 'ed.pub'), 'utf8'));
    expect(human.stdout).toContain(`key id: ${edKey.keyId}`);
  });

  it('refuses to overwrite existing key files (exit 2) and leaves them as they were', async () => {
    const before = readFileSync(`${keyPrefix}.key`, 'utf8');
    const result = await runCli(['keygen', '--out', keyPrefix]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('already exists');
    expect(readFileSync(`${keyPrefix}.key`, 'utf8')).toBe(before);
  });

  it('refuses an unknown key type (exit 2)', async () => {
    const result = await runCli(['keygen', '--out', path.join(work, 'rsa'), '--type', 'rsa']);
    expect(result.code).toBe(2);
  });
});

describe('custody sign and verify', () => {
  it('signs a model and verifies it (exit 0), naming the method and the signer', async () => {
    const signature = path.join(work, 'sentiment.sig');
    const signed = jsonOf(await runCli(['--json', 'sign', model, '--key', `${keyPrefix}.key`, '--output', signature]));
    const keyId = parsePublicKey(readFileSync(`${keyPrefix}.pub`, 'utf8')).keyId;
    expect(signed).toMatchObject({ signature, method: 'key', keyId, files: 3 });
    expect(signed.rootDigest).toBe((await scanModel(model)).omsRootDigest);

    const verified = await runCli(['verify', model, '--signature', signature, '--key', `${keyPrefix}.pub`]);
    expectOk(verified);
    expect(verified.stdout).toContain(`(method key), signed by public key ${keyId}`);

    const json = jsonOf(await runCli(['--json', 'verify', model, '--signature', signature, '--key', `${keyPrefix}.pub`]));
    expect(json).toMatchObject({ verified: true, method: 'key', keyId, rootDigest: signed.rootDigest, legacySignature: false });
    expect((json.files as { path: string }[]).map((f) => f.path)).toEqual(['config.json', 'tokenizer/vocab.txt', 'weights.safetensors']);
  });

  it('writes model.sig inside the model by default when run there, and leaves it out of the model', async () => {
    const copy = path.join(work, 'in-place');
    mkdirSync(copy);
    writeFileSync(path.join(copy, 'weights.bin'), 'w');
    expectOk(await runCli(['sign', '.', '--key', `${keyPrefix}.key`], {}, copy));
    expectOk(await runCli(['verify', '.', '--signature', 'model.sig', '--key', `${keyPrefix}.pub`], {}, copy));
  });

  it('a tampered model exits 4 naming the stage and each file', async () => {
    const copy = path.join(work, 'tampered');
    mkdirSync(copy);
    writeFileSync(path.join(copy, 'a.bin'), 'a');
    writeFileSync(path.join(copy, 'b.bin'), 'b');
    const signature = path.join(work, 'tampered.sig');
    expectOk(await runCli(['sign', copy, '--key', `${keyPrefix}.key`, '--output', signature]));
    writeFileSync(path.join(copy, 'a.bin'), 'A');
    rmSync(path.join(copy, 'b.bin'));
    writeFileSync(path.join(copy, 'c.bin'), 'c');

    const result = await runCli(['verify', copy, '--signature', signature, '--key', `${keyPrefix}.pub`]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('manifest: the model does not match its signature: 1 changed: a.bin; 1 missing: b.bin; 1 not signed: c.bin');

    const json = await runCli(['--json', 'verify', copy, '--signature', signature, '--key', `${keyPrefix}.pub`]);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: { code: 'VERIFICATION_FAILED', details: { stage: 'manifest', changed: ['a.bin'], missing: ['b.bin'], extra: ['c.bin'] } },
    });

    const allowed = await runCli(['verify', copy, '--signature', signature, '--key', `${keyPrefix}.pub`, '--ignore-unsigned-files']);
    expect(allowed.code).toBe(4);
    expect(allowed.stderr).not.toContain('c.bin');
  });

  it('another key exits 4 at the material stage', async () => {
    const signature = path.join(work, 'other-key.sig');
    expectOk(await runCli(['sign', model, '--key', `${keyPrefix}.key`, '--output', signature]));
    const result = await runCli(['verify', model, '--signature', signature, '--key', path.join(work, 'k384.pub')]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('material: the bundle names key');
  });

  it('needs exactly one verification method (exit 2)', async () => {
    const signature = path.join(work, 'sentiment.sig');
    expect((await runCli(['verify', model, '--signature', signature])).code).toBe(2);
    expect((await runCli(['verify', model, '--signature', signature, '--key', `${keyPrefix}.pub`, '--identity', 'x@y'])).code).toBe(2);
    expect((await runCli(['verify', model, '--signature', signature, '--identity', 'x@y'])).code).toBe(2);
  });
});

describe('custody attest', () => {
  const predicatePath = (): string => {
    const file = path.join(work, 'red-team.json');
    writeFileSync(file, JSON.stringify({ status: 'APPROVED', assessor: 'team-a', findings: [] }));
    return file;
  };

  function openBundle(text: string): { statement: ReturnType<typeof parseStatement>; verifies: boolean } {
    const bundle = parseBundle(text);
    const publicKey = parsePublicKey(readFileSync(`${keyPrefix}.pub`, 'utf8'));
    expect(bundle.material).toEqual({ kind: 'publicKey', hint: publicKey.keyId, rawBytes: null });
    return { statement: parseStatement(bundle.envelope.payload), verifies: verifyEnvelopeSignature(bundle.envelope, publicKey) };
  }

  it('attests a model path: the subject is the version digest under the model name, and it verifies', async () => {
    const result = await runCli(['attest', model, '--predicate-type', 'https://custody.dev/attestation/red-team/v1', '--predicate', predicatePath(), '--key', `${keyPrefix}.key`]);
    expectOk(result);
    const { statement, verifies } = openBundle(result.stdout);
    expect(verifies).toBe(true);
    const version = await scanModel(model);
    expect(statement.subject).toEqual([{ name: 'sentiment-model', digest: { sha256: version.digest.slice('sha256:'.length) } }]);
    expect(statement.predicateType).toBe('https://custody.dev/attestation/red-team/v1');
    expect(statement.predicate).toEqual({ status: 'APPROVED', assessor: 'team-a', findings: [] });
  });

  it('attests a sha256 digest into --output, with --json', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const output = path.join(work, 'digest.intoto.json');
    const json = jsonOf(await runCli(['--json', 'attest', digest, '--predicate-type', 'https://in-toto.io/attestation/test-result/v0.1', '--predicate', predicatePath(), '--key', `${keyPrefix}.key`, '--output', output]));
    expect(json).toMatchObject({ output, subject: { digest: { sha256: 'ab'.repeat(32) } }, predicateType: 'https://in-toto.io/attestation/test-result/v0.1' });
    const { statement, verifies } = openBundle(readFileSync(output, 'utf8'));
    expect(verifies).toBe(true);
    expect(statement.subject).toEqual([{ digest: { sha256: 'ab'.repeat(32) } }]);
  });

  it('refuses a predicate that is not a JSON object, and a bad digest or predicate type (exit 2)', async () => {
    const notObject = path.join(work, 'list.json');
    writeFileSync(notObject, '[1, 2]');
    const base = ['--predicate-type', 'https://example.com/p/v1', '--key', `${keyPrefix}.key`];
    expect((await runCli(['attest', `sha256:${'a'.repeat(64)}`, '--predicate', notObject, ...base])).code).toBe(2);
    const uppercase = await runCli(['attest', `sha256:${'A'.repeat(64)}`, '--predicate', predicatePath(), ...base]);
    expect(uppercase.code).not.toBe(0);
    expect(uppercase.stderr).toContain('digest');
    expect((await runCli(['attest', model, '--predicate', predicatePath(), '--predicate-type', 'not a uri', '--key', `${keyPrefix}.key`])).code).toBe(2);
  });
});
