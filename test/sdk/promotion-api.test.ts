/**
 * `PromotionApi` and the `@environment` placement check against a scripted HTTP server (SPEC
 * §2, §6, §8): the requests each call sends (paths, encoded names, query, omitted fields), its
 * refusal of answers that do not match the documented schemas, and `checkEnvironmentPlacement`
 * facing a hostile registry — a quarantine reason with terminal escapes, a placement naming
 * another version, an allowed decision without a VSA, a VSA of another version or signed by
 * another key, a VSA naming another decision — each VERIFICATION_FAILED; a valid VSA accepted.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, parsePrivateKey } from '../../src/crypto/signing-keys.js';
import { CustodyError } from '../../src/domain/errors.js';
import { parseModelRef } from '../../src/domain/model-ref.js';
import type { VsaKey } from '../../src/promotion/vsa-key.js';
import { signVsa } from '../../src/promotion/vsa.js';
import { CustodyClient } from '../../src/sdk/custody-client.js';
import { checkEnvironmentPlacement } from '../../src/sdk/environment-check.js';
import type { VersionBody } from '../../src/sdk/responses.js';

const digestOf = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const V3 = digestOf('manifest v3');
const V4 = digestOf('manifest v4');
const DECISION = 'dec_0123456789abcdef';

function newVsaKey(): VsaKey {
  const privateKey = parsePrivateKey(generateSigningKey('ed25519').privateKeyPem);
  return { privateKey, publicKey: privateKey.publicKey, keyId: privateKey.publicKey.keyId, publicKeyPem: privateKey.publicKey.pem };
}

function vsaFor(key: VsaKey, digest: string, options: { environment?: string; decisionId?: string } = {}): string {
  return signVsa(
    {
      verifierId: 'https://custody.local/custody',
      timeVerified: '2026-03-01T12:00:00.000Z',
      model: { namespace: 'fraud', name: 'detector' },
      versionDigest: digest,
      environment: options.environment ?? 'production',
      policy: { uri: 'https://custody.local/api/v1/environments/production/policy', digest: digestOf('effective') },
      inputAttestations: [],
      decisionId: options.decisionId ?? DECISION,
    },
    key,
  );
}

function decision(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: DECISION,
    model: 'fraud/detector',
    version: V3,
    environment: 'production',
    outcome: 'allow',
    policyDigest: digestOf('policy'),
    effectiveDigest: digestOf('effective'),
    inputDigest: digestOf('input'),
    requirements: [{ name: 'redteam', source: 'policy', result: 'PASS', message: '1 valid attestation', satisfiedBy: [digestOf('bundle')] }],
    gates: [{ name: 'red-team-approved', result: 'PASS', message: 'Red team assessment is pending or rejected' }],
    principal: 'ci-release',
    principalKind: 'service',
    decidedAt: '2026-03-01T12:00:00.000Z',
    logIndex: 42,
    vsa: null,
    ...overrides,
  };
}

function placement(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'fraud/detector', environment: 'production', version: V3, number: 3, decision: null, quarantines: [], ...overrides };
}

const version: VersionBody = {
  namespace: 'fraud',
  name: 'detector',
  number: 3,
  digest: V3,
  omsRootDigest: digestOf('oms'),
  singleFile: false,
  fileCount: 1,
  totalSize: 10,
  registeredAt: '2026-03-01T10:00:00.000Z',
  registeredBy: 'dana',
  annotations: null,
  files: [{ path: 'weights.bin', size: 10, digest: digestOf('weights') }],
  registration: { logIndex: 7 },
};

describe('PromotionApi and the @environment placement check', () => {
  let server: http.Server;
  let client: CustodyClient;
  const seen: { method: string; url: string; body: unknown }[] = [];
  let reply: { status: number; body: unknown } = { status: 200, body: {} };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        seen.push({ method: req.method ?? '', url: req.url ?? '', body: text === '' ? undefined : (JSON.parse(text) as unknown) });
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new CustodyClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'custody_test' });
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  });

  const last = (): { method: string; url: string; body: unknown } => {
    const s = seen.at(-1);
    if (s === undefined) throw new Error('no request reached the server');
    return s;
  };

  it('sends each call to its route with the selector, the expected current digest and only the fields given', async () => {
    reply = { status: 200, body: decision({ outcome: 'deny' }) };
    expect(await client.promotion.promote('fraud/detector@v3', 'production', { expectCurrent: 'none' })).toMatchObject({ outcome: 'deny', id: DECISION });
    expect(last()).toEqual({ method: 'POST', url: '/api/v1/models/fraud/detector/environments/production/promotions', body: { version: 'v3', expectCurrent: 'none' } });
    await client.promotion.promote(parseModelRef(`fraud/detector@${V3}`), 'staging');
    expect(last().body).toEqual({ version: V3 });

    reply = { status: 200, body: { model: 'fraud/detector', version: V3, number: 3, environment: 'production', evaluation: { outcome: 'allow', policyDigest: null, effectiveDigest: V3, inputDigest: V3, requirements: [], gates: [] } } };
    await client.promotion.evaluate('fraud/detector@staging', 'production');
    expect(last()).toMatchObject({ method: 'GET', url: '/api/v1/models/fraud/detector/environments/production/evaluation?version=staging' });

    reply = { status: 200, body: { id: 'pol_0123456789abcdef', environment: 'production', number: 2, digest: V4, status: 'proposed', proposedBy: 'admin', proposedAt: 't', approvedBy: null, approvedAt: null, activatedAt: null, endedAt: null } };
    await client.promotion.pushPolicy({ document: 'kind: PromotionPolicy' });
    expect(last()).toEqual({ method: 'POST', url: '/api/v1/policies', body: { document: 'kind: PromotionPolicy' } });
    await client.promotion.approvePolicy('pol/../x');
    expect(last()).toMatchObject({ method: 'POST', url: '/api/v1/policies/pol%2F..%2Fx/approve' });

    reply = { status: 200, body: { items: [] } };
    await client.promotion.decisions('fraud/detector@v3');
    expect(last().url).toBe('/api/v1/models/fraud/detector/versions/v3/decisions');
    await client.promotion.policyHistory('production');
    expect(last().url).toBe('/api/v1/environments/production/policy/history');
  });

  it('refuses answers that do not match the documented schemas (SERVER_ERROR)', async () => {
    for (const body of [decision({ outcome: 'maybe' }), decision({ version: 'sha256:short' }), { ...decision(), gates: 'all fine' }]) {
      reply = { status: 200, body };
      await expect(client.promotion.promote('fraud/detector@v3', 'production')).rejects.toMatchObject({ code: 'SERVER_ERROR' });
    }
    reply = { status: 200, body: { model: 'fraud/detector', environments: [{ environment: 'production', version: V3 }] } };
    await expect(client.promotion.status('fraud/detector')).rejects.toBeInstanceOf(CustodyError);
  });

  const check = async (body: unknown, vsaKey?: string): Promise<unknown> => {
    reply = { status: 200, body };
    return checkEnvironmentPlacement(client, parseModelRef('fraud/detector@production'), version, vsaKey === undefined ? {} : { vsaKey });
  };
  const refusal = async (body: unknown, vsaKey?: string): Promise<CustodyError> => {
    const error = await check(body, vsaKey).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof CustodyError)) throw new Error(`expected a CustodyError, got ${String(error)}`);
    expect(error.code).toBe('VERIFICATION_FAILED');
    return error;
  };

  it('refuses a quarantined placement, naming the reason with its terminal escapes neutralised', async () => {
    const reason = 'key security-scanner was revoked\u001b[2J\u202e: scan MISSING';
    const error = await refusal(placement({ quarantines: [{ environment: 'production', reason, since: '2026-03-02T00:00:00.000Z', logIndex: 9 }] }));
    expect(error.message).toContain(`fraud/detector@production (${V3}) is quarantined: key security-scanner was revoked\\u001b[2J\\u202e: scan MISSING`);
    expect(error.message.includes('\u001b') || error.message.includes('\u202e')).toBe(false);
    expect(error.details).toMatchObject({ check: 'quarantine' });
    expect(last().url).toBe('/api/v1/models/fraud/detector/environments/production');
  });

  it('refuses a placement of another version, an allowed decision without a VSA, a VSA of another version, by another key or naming another decision', async () => {
    const key = newVsaKey();
    const pem = key.publicKeyPem;
    expect((await refusal(placement({ version: V4 }))).details).toMatchObject({ check: 'placement' });
    expect((await refusal(placement({ decision: decision() }), pem)).details).toMatchObject({ check: 'vsa' });
    expect((await refusal(placement({ decision: decision({ outcome: 'deny', vsa: vsaFor(key, V3) }) }), pem)).details).toMatchObject({ check: 'decision' });
    expect((await refusal(placement({ decision: decision({ vsa: vsaFor(key, V3) }) }))).details).toMatchObject({ check: 'vsa-key' });
    const otherVersion = await refusal(placement({ decision: decision({ vsa: vsaFor(key, V4) }) }), pem);
    expect(otherVersion.message).toContain(`the VSA is for another version: its subject is ${V4}, expected ${V3}`);
    const otherEnvironment = await refusal(placement({ decision: decision({ vsa: vsaFor(key, V3, { environment: 'staging' }) }) }), pem);
    expect(otherEnvironment.message).toContain('the VSA is for environment "staging", not "production"');
    const otherKey = await refusal(placement({ decision: decision({ vsa: vsaFor(newVsaKey(), V3) }) }), pem);
    expect(otherKey.message).toContain(`the VSA signature is not valid for the pinned VSA key ${key.keyId}`);
    const otherDecision = await refusal(placement({ decision: decision({ vsa: vsaFor(key, V3, { decisionId: 'dec_fedcba9876543210' }) }) }), pem);
    expect(otherDecision.message).toContain('the VSA names decision dec_fedcba9876543210, not the decision that placed it');
  });

  it('accepts a valid VSA with the pinned key, asked for only when needed, and a registration placement without one', async () => {
    const key = newVsaKey();
    const vsa = vsaFor(key, V3);
    let asked = 0;
    reply = { status: 200, body: placement({ decision: decision({ vsa }) }) };
    const placed = await checkEnvironmentPlacement(client, parseModelRef('fraud/detector@production'), version, {
      vsaKey: () => {
        asked++;
        return Promise.resolve(key.publicKeyPem);
      },
    });
    expect(asked).toBe(1);
    expect(placed).toEqual({
      environment: 'production',
      digest: V3,
      number: 3,
      placedBy: { kind: 'decision', decision: DECISION, principal: 'ci-release', decidedAt: '2026-03-01T12:00:00.000Z', logIndex: 42, logProven: false, vsa: { digest: digestOf(vsa), keyId: key.keyId, policyDigest: digestOf('effective'), timeVerified: '2026-03-01T12:00:00.000Z' } },
    });
    // Without a log witness a registration placement cannot be proven, and says so.
    expect(await check(placement())).toEqual({ environment: 'production', digest: V3, number: 3, placedBy: { kind: 'registration', logProven: false } });
  });
});
