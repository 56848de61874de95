/**
 * The provenance-chain requirement (SPEC §6.3, §10 "provenance gap"), pure: each step attested by
 * valid evidence from its signers, steps connected by digest, the last step producing the
 * training data, every preprocessing script a material of an attested step, roots by URI prefix
 * or digest; the first gap is named precisely; evidence never satisfies a named requirement; the
 * bounds hold. Also the shipped example policy with the chain and its fixtures.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/domain/digest.js';
import { checkChain, type PolicyChain } from '../../src/policy/chain.js';
import { LINK_PREDICATE_V03, MAX_EVIDENCE_RESOURCES, MAX_EVIDENCE_STATEMENTS } from '../../src/policy/chain-evidence.js';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { closePolicyEvaluator, evaluatePolicy, type CandidateAttestation } from '../../src/policy/evaluate-policy.js';
import { parsePolicyDocument } from '../../src/policy/policy-document.js';
import { runPolicyTests } from '../../src/policy/policy-tests.js';
import { EXAMPLES, editAttestations, exampleDocument, fixtureInput, TRAINING } from './seed-policy.js';

afterAll(() => closePolicyEvaluator());

const d = (label: string): string => `sha256:${sha256Hex(label)}`;
const SLSA = 'https://slsa.dev/provenance/v1';

const chain: PolicyChain = {
  steps: [
    { name: 'ingest', predicateType: LINK_PREDICATE_V03, signers: ['data-platform'] },
    { name: 'preprocess', predicateType: LINK_PREDICATE_V03, signers: ['data-platform', 'feature-store'] },
  ],
  roots: ['s3://datasets/raw/', d('vendored-script')],
};

interface Material { digest?: string; uri?: string; name?: string }

let counter = 0;
/** A valid link v0.3 evidence statement of `step`: `materials` consumed, `products` (digests) produced. */
function link(step: string, materials: Material[], products: string[], extra: Partial<CandidateAttestation> = {}): CandidateAttestation {
  counter += 1;
  return {
    role: 'evidence',
    subjects: products.map((digest, i) => ({ name: `out-${i}`, digest })),
    predicateType: LINK_PREDICATE_V03,
    predicate: {
      name: step,
      command: ['run', step],
      materials: materials.map((m) => ({ ...(m.uri === undefined ? {} : { uri: m.uri }), ...(m.name === undefined ? {} : { name: m.name }), ...(m.digest === undefined ? {} : { digest: { sha256: m.digest.slice(7) } }) })),
    },
    signer: { name: 'data-platform', keyId: sha256Hex('data-platform') },
    loggedAt: '2026-11-24T00:00:00Z',
    logIndex: counter,
    digest: d(`evidence-${counter}`),
    status: 'valid',
    ...extra,
  };
}

const RAW = { digest: d('raw'), uri: 's3://datasets/raw/fraud/2026-11.csv' };
const INGESTED = d('ingested');
const SCRIPT = { digest: d('script'), uri: 's3://datasets/raw/scripts/clean.py' };
const TRAIN = d('training-data');
const provenance = { trainingData: TRAIN, preprocessing: [{ name: 'clean', digest: SCRIPT.digest }] };

const ingest = (extra: Partial<CandidateAttestation> = {}) => link('ingest', [RAW], [INGESTED], extra);
const preprocess = (extra: Partial<CandidateAttestation> = {}) => link('preprocess', [{ digest: INGESTED, uri: 's3://datasets/staging/x.parquet' }, SCRIPT], [TRAIN], extra);

describe('checkChain', () => {
  it('passes a complete chain and names the evidence it used', () => {
    const a = ingest();
    const b = preprocess();
    const result = checkChain(chain, [a, b], provenance);
    expect(result).toMatchObject({ name: 'chain', source: 'policy', result: 'PASS' });
    expect(result.satisfiedBy).toEqual([a.digest, b.digest]);
    expect(result.message).toContain(`training data ${TRAIN} traced through ingest → preprocess`);
  });

  it('names the first missing step, with its signers', () => {
    expect(checkChain(chain, [preprocess()], provenance)).toMatchObject({ result: 'FAIL', message: 'no valid attestation of step ingest signed by data-platform' });
    expect(checkChain(chain, [ingest()], provenance).message).toBe('no valid attestation of step preprocess signed by data-platform or feature-store');
    expect(checkChain(chain, [], provenance).message).toBe('no valid attestation of step ingest signed by data-platform');
  });

  it('names a material the step before did not produce and no root covers', () => {
    const stray = { digest: d('stray'), uri: 's3://datasets/other/x' };
    const result = checkChain(chain, [ingest(), link('preprocess', [{ digest: INGESTED }, stray, SCRIPT], [TRAIN])], provenance);
    expect(result).toMatchObject({ result: 'FAIL', message: `preprocess material ${stray.digest} (s3://datasets/other/x) is not the product of an attested ingest step and matches no root` });
  });

  it('names a first-step material outside the roots', () => {
    const scraped = { digest: d('scraped'), uri: 's3://datasets/scraped/x.csv' };
    const result = checkChain(chain, [link('ingest', [scraped], [INGESTED]), preprocess()], provenance);
    expect(result.message).toBe(`ingest material ${scraped.digest} (s3://datasets/scraped/x.csv) matches no root (the first step, ingest, must consume only roots)`);
  });

  it('names training data the last step did not produce', () => {
    const result = checkChain(chain, [ingest(), link('preprocess', [{ digest: INGESTED }, SCRIPT], [d('other data')])], provenance);
    expect(result).toMatchObject({ result: 'FAIL', message: `training data ${TRAIN} is not the product of an attested preprocess step` });
  });

  it('names the gap of the statement that produced the training data when that statement does not connect', () => {
    const stray = { digest: d('stray'), uri: 's3://elsewhere/x' };
    const connected = link('preprocess', [{ digest: INGESTED }, SCRIPT], [d('other data')]);
    const producer = link('preprocess', [stray], [TRAIN]);
    const result = checkChain(chain, [ingest(), connected, producer], provenance);
    expect(result.message).toBe(
      `training data ${TRAIN} is not the product of an attested preprocess step: preprocess material ${stray.digest} (s3://elsewhere/x) is not the product of an attested ingest step and matches no root`,
    );
  });

  it('needs every preprocessing script of the training provenance as a material of an attested step', () => {
    const other = d('other-script');
    const result = checkChain(chain, [ingest(), preprocess()], { ...provenance, preprocessing: [{ name: 'clean', digest: SCRIPT.digest }, { name: 'dedupe', digest: other }] });
    expect(result.message).toBe(`preprocessing script dedupe ${other} named by the training provenance is not a material of an attested step`);
  });

  it('needs the training provenance and its training-data digest', () => {
    expect(checkChain(chain, [ingest(), preprocess()], null).message).toContain('the version carries no valid training provenance');
    expect(checkChain(chain, [ingest(), preprocess()], { preprocessing: [] }).message).toContain('names no training-data sha256 digest');
    expect(checkChain(chain, [ingest(), preprocess()], { trainingData: TRAIN, preprocessing: 'x' }).result).toBe('FAIL');
  });

  it('takes roots by URI prefix (of the uri, else the name) and by exact digest', () => {
    const byName = link('ingest', [{ digest: d('n'), name: 's3://datasets/raw/by-name.csv' }], [INGESTED]);
    expect(checkChain(chain, [byName, preprocess()], provenance).result).toBe('PASS');
    const byDigest = link('ingest', [{ digest: d('vendored-script'), uri: 'https://vendor.example/clean.py' }], [INGESTED]);
    expect(checkChain(chain, [byDigest, preprocess()], provenance).result).toBe('PASS');
    const noDigest = link('ingest', [{ uri: 's3://datasets/raw/listing/' }], [INGESTED]);
    expect(checkChain(chain, [noDigest, preprocess()], provenance).result).toBe('PASS');
    // A root digest must match exactly, and a prefix is a prefix.
    const near = link('ingest', [{ digest: d('vendored-script2'), uri: 's3://datasets/raw' }], [INGESTED]);
    expect(checkChain(chain, [near, preprocess()], provenance).message).toBe(
      `ingest material ${d('vendored-script2')} (s3://datasets/raw) matches no root (the first step, ingest, must consume only roots)`,
    );
  });

  it('never lets a dot segment walk out from under a root prefix', () => {
    for (const uri of ['s3://datasets/raw/../private/x', 's3://datasets/raw/%2e%2e/private/x', 's3://datasets/raw/./x', 's3://datasets/raw/..']) {
      const result = checkChain(chain, [link('ingest', [{ digest: d(uri), uri }], [INGESTED]), preprocess()], provenance);
      expect(result.result, uri).toBe('FAIL');
      expect(result.message).toContain(`(${uri}) matches no root`);
    }
  });

  it('shows a material without a sha256 digest that no root covers', () => {
    const result = checkChain(chain, [link('ingest', [{ uri: 'git+https://git.example.com/x' }], [INGESTED]), preprocess()], provenance);
    expect(result.message).toBe('ingest material git+https://git.example.com/x (no sha256 digest) matches no root (the first step, ingest, must consume only roots)');
  });

  it('does not count a statement signed by a key that is not a signer of the step', () => {
    const wrong = ingest({ signer: { name: 'ops-bot', keyId: sha256Hex('ops-bot') } });
    const result = checkChain(chain, [wrong, preprocess()], provenance);
    expect(result.result).toBe('FAIL');
    expect(result.message).toBe('no valid attestation of step ingest signed by data-platform (found signed only by ops-bot, not a signer of this step)');
  });

  it('ignores invalid and revoked evidence, saying so', () => {
    const revoked = checkChain(chain, [ingest({ status: 'revoked', reason: 'key revoked' }), preprocess()], provenance);
    expect(revoked.message).toBe('no valid attestation of step ingest signed by data-platform (found 1 statement signed by a revoked key)');
    const invalid = checkChain(chain, [ingest({ status: 'invalid', reason: 'the stored signature does not verify' }), preprocess()], provenance);
    expect(invalid.message).toBe('no valid attestation of step ingest signed by data-platform (found 1 statement not valid (the stored signature does not verify))');
    // A valid one next to them is enough.
    expect(checkChain(chain, [ingest({ status: 'revoked' }), ingest(), preprocess()], provenance).result).toBe('PASS');
  });

  it('counts only evidence: a link attestation about the version is not a step', () => {
    expect(checkChain(chain, [ingest({ role: 'attestation' }), preprocess()], provenance).message).toBe('no valid attestation of step ingest signed by data-platform');
    expect(checkChain(chain, [{ ...ingest(), role: undefined } as unknown as CandidateAttestation, preprocess()], provenance).result).toBe('FAIL');
  });

  it('does not count a statement of another predicate type than the step asks for', () => {
    const slsa = { ...ingest(), predicateType: SLSA, predicate: { buildDefinition: { externalParameters: { step: 'ingest' }, resolvedDependencies: [{ uri: RAW.uri, digest: { sha256: RAW.digest.slice(7) } }] } } };
    expect(checkChain(chain, [slsa, preprocess()], provenance).message).toBe(
      `no valid attestation of step ingest signed by data-platform (found 1 statement of another predicate type than ${LINK_PREDICATE_V03})`,
    );
  });

  it('reads an SLSA provenance step from buildDefinition.externalParameters.step and its resolvedDependencies', () => {
    const slsaChain: PolicyChain = { ...chain, steps: [{ name: 'ingest', predicateType: SLSA, signers: ['data-platform'] }, { name: 'preprocess', predicateType: LINK_PREDICATE_V03, signers: ['data-platform'] }] };
    const slsa = {
      ...ingest(),
      predicateType: SLSA,
      predicate: { buildDefinition: { buildType: 'https://example.com/ingest/v1', externalParameters: { step: 'ingest' }, resolvedDependencies: [{ uri: RAW.uri, digest: { sha256: RAW.digest.slice(7) } }] } },
    };
    expect(checkChain(slsaChain, [slsa, preprocess()], provenance).result).toBe('PASS');
    const stray = { ...slsa, predicate: { buildDefinition: { externalParameters: { step: 'ingest' }, resolvedDependencies: [{ uri: 's3://elsewhere/x', digest: { sha256: d('x').slice(7) } }] } } };
    expect(checkChain(slsaChain, [stray, preprocess()], provenance).message).toContain('ingest material');
  });

  it('is monotonic: a statement that does not connect is not used, and does not undo a chain that holds', () => {
    const stray = link('preprocess', [{ digest: d('nowhere'), uri: 's3://nowhere/x' }], [d('other')]);
    expect(checkChain(chain, [ingest(), preprocess(), stray], provenance).result).toBe('PASS');
    expect(checkChain(chain, [stray, ingest(), preprocess()], provenance).satisfiedBy).not.toContain(stray.digest);
  });

  it('ignores malformed evidence without throwing, and says why when it was all there was', () => {
    const shapes: unknown[] = [
      { name: 'ingest', materials: 'not a list' },
      { name: 'ingest', materials: [7] },
      { name: 'ingest', materials: [{ uri: 's3://datasets/raw/x', digest: { sha256: 'NOT-HEX' } }] },
      { name: 'ingest', materials: [{ uri: 42 }] },
      { name: 'ingest', materials: [{ digest: 'not an object' }] },
    ];
    for (const predicate of shapes) {
      const result = checkChain(chain, [{ ...ingest(), predicate }, preprocess()], provenance);
      expect(result.result).toBe('FAIL');
      expect(result.message).toMatch(/^no valid attestation of step ingest signed by data-platform \(found 1 statement unreadable: /);
    }
    for (const predicate of [null, 'text', [], { name: 7 }, { name: '' }]) {
      expect(checkChain(chain, [{ ...ingest(), predicate }, preprocess()], provenance).message).toBe('no valid attestation of step ingest signed by data-platform');
    }
  });

  it('bounds the evidence: more than 1,000 statements is an ERROR; over 1,000 materials or products makes a statement unreadable', () => {
    const many = Array.from({ length: MAX_EVIDENCE_STATEMENTS + 1 }, () => ingest());
    expect(checkChain(chain, [...many, preprocess()], provenance)).toMatchObject({ result: 'ERROR', message: `${MAX_EVIDENCE_STATEMENTS + 2} evidence statements is more than the limit of ${MAX_EVIDENCE_STATEMENTS}` });
    const materials = Array.from({ length: MAX_EVIDENCE_RESOURCES + 1 }, () => RAW);
    expect(checkChain(chain, [link('ingest', materials, [INGESTED]), preprocess()], provenance).message).toContain(`more than the limit of ${MAX_EVIDENCE_RESOURCES}`);
    const products = Array.from({ length: MAX_EVIDENCE_RESOURCES + 1 }, (_, i) => d(`p${i}`));
    expect(checkChain(chain, [link('ingest', [RAW], [INGESTED, ...products]), preprocess()], provenance).message).toContain(`more than the limit of ${MAX_EVIDENCE_RESOURCES}`);
  });

  it('checks the largest allowed evidence (1,000 statements of 1,000 materials) in linear time', () => {
    // Cheap distinct digests: hashing a million labels would dominate the test.
    const fake = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
    const products = Array.from({ length: MAX_EVIDENCE_RESOURCES }, (_, i) => fake(i));
    const ingests = Array.from({ length: 500 }, (_, i) =>
      link('ingest', Array.from({ length: MAX_EVIDENCE_RESOURCES }, (_, j) => ({ digest: fake(1_000_000 + i * 1000 + j), uri: `s3://datasets/raw/${i}/${j}` })), products),
    );
    const preprocesses = Array.from({ length: 499 }, () => link('preprocess', products.map((digest) => ({ digest })), [fake(5_000_000)]));
    const last = link('preprocess', [...products.slice(0, MAX_EVIDENCE_RESOURCES - 1).map((digest) => ({ digest })), SCRIPT], [TRAIN]);
    const started = performance.now();
    const result = checkChain(chain, [...ingests, ...preprocesses, last], provenance);
    const elapsed = performance.now() - started;
    expect(result.result).toBe('PASS');
    expect(result.satisfiedBy).toHaveLength(1000);
    // ~1M materials and products read once each (about a second on a busy CI core); a walk that
    // compared each material with each product would take hours.
    expect(elapsed).toBeLessThan(30_000);
  });
});

describe('the chain in a policy', () => {
  const withChainText = readFileSync(path.join(EXAMPLES, 'production-with-chain.yaml'), 'utf8');
  const withChain = compilePolicy(parsePolicyDocument(withChainText, 'production-with-chain.yaml'));

  it("the example policy's embedded tests pass", async () => {
    const results = await runPolicyTests(parsePolicyDocument(withChainText, 'production-with-chain.yaml'), { baseDir: EXAMPLES });
    expect(results.map((r) => [r.name, r.passed])).toEqual(results.map((r) => [r.name, true]));
    expect(results.length).toBeGreaterThanOrEqual(4);
  });

  it('allows the complete chain and denies the fixtures with gaps, naming each gap', async () => {
    const complete = await evaluatePolicy(withChain, fixtureInput('chain-complete.json'));
    expect(complete.outcome).toBe('allow');
    expect(complete.requirements.find((r) => r.name === 'chain')?.satisfiedBy).toHaveLength(2);

    const missing = await evaluatePolicy(withChain, fixtureInput('chain-missing-preprocess.json'));
    expect(missing.outcome).toBe('deny');
    expect(missing.requirements.filter((r) => r.result !== 'PASS').map((r) => [r.name, r.message])).toEqual([['chain', 'no valid attestation of step preprocess signed by data-platform']]);

    const unrooted = await evaluatePolicy(withChain, fixtureInput('chain-unrooted-dataset.json'));
    expect(unrooted.outcome).toBe('deny');
    expect(unrooted.requirements.find((r) => r.name === 'chain')?.message).toMatch(/^ingest material sha256:[0-9a-f]{64} \(s3:\/\/datasets\/scraped\/fraud\/transactions\.csv\) matches no root/);
  });

  it('never lets evidence satisfy a named requirement or reach the gates', async () => {
    // The training provenance attached as evidence instead: the training requirement is missing.
    const asEvidence = editAttestations(fixtureInput('chain-complete.json'), TRAINING, (a) => ({ ...a, role: 'evidence' }));
    const evaluation = await evaluatePolicy(withChain, asEvidence);
    expect(evaluation.outcome).toBe('deny');
    expect(evaluation.requirements.find((r) => r.name === 'training')?.result).toBe('MISSING');

    // A red-team APPROVED statement attached as evidence neither satisfies redteam nor its gate.
    const seed = compilePolicy(exampleDocument('production'));
    const redteam = editAttestations(fixtureInput('clean.json'), 'https://custody.dev/attestation/red-team/v1', (a) => ({ ...a, role: 'evidence' }));
    const denied = await evaluatePolicy(seed, redteam);
    expect(denied.requirements.find((r) => r.name === 'redteam')?.result).toBe('MISSING');
    expect(denied.gates.find((g) => g.name === 'red-team-approved')?.result).toBe('MISSING');
    // Evidence is not in the CEL input: the input digest is that of the input without it.
    const extra = fixtureInput('clean.json');
    const plain = await evaluatePolicy(seed, extra);
    const withEvidence = await evaluatePolicy(seed, { ...extra, attestations: [...extra.attestations, ingest()] });
    expect(withEvidence.inputDigest).toBe(plain.inputDigest);
    expect(withEvidence.outcome).toBe('allow');
  });
});
