/**
 * The signers and the 20 attestations each `bench:policy` version carries (SPEC §4.2, §6): the
 * four the seed's production policy requires — training provenance by `training-cluster`, a clean
 * scan by `security-scanner`, a passed sandbox run by `sandbox` and an approved red-team
 * assessment by `red-team`, with the predicates of `examples/policies/fixtures/clean.json` — and
 * 16 others of varied predicate types by other registered keys (more scans and test results by
 * signers the policy does not accept, SPDX and CycloneDX SBOMs, evaluation reports), as a model
 * that went through a real pipeline carries them. A set of idle keys that sign nothing makes the
 * registry's key list look like one that has been in use for a while.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createAttestation } from '../src/crypto/attestation.js';
import { parsePrivateKey, type PrivateKeyInfo } from '../src/crypto/signing-keys.js';
import { makeKey, RED_TEAM, SLSA, TEST_RESULT, VULNS, type TestKey } from '../test/support/trust-fixtures.js';

export const SPDX = 'https://spdx.dev/Document/v2.3';
export const CYCLONEDX = 'https://cyclonedx.org/bom/v1.5';
export const EVALUATION = 'https://custody.dev/attestation/evaluation/v1';

/** Attestations per version: the provenance, three more the policy requires, and 16 others. */
export const ATTESTATIONS_PER_VERSION = 20;

interface SignerSpec {
  readonly name: string;
  readonly predicateTypes: readonly string[];
}

/** The seed's four signers (the production policy names them), then the pipeline's others. */
const SIGNERS: readonly SignerSpec[] = [
  { name: 'training-cluster', predicateTypes: [SLSA] },
  { name: 'security-scanner', predicateTypes: [VULNS] },
  { name: 'sandbox', predicateTypes: [TEST_RESULT] },
  { name: 'red-team', predicateTypes: [RED_TEAM] },
  { name: 'dependency-scanner', predicateTypes: [VULNS] },
  { name: 'ci-tests', predicateTypes: [TEST_RESULT] },
  { name: 'sbom-generator', predicateTypes: [SPDX, CYCLONEDX] },
  { name: 'eval-harness', predicateTypes: [EVALUATION] },
];

/** The 16 attestations beyond the required four: signer, predicate type, how many. */
const OTHERS: readonly { readonly signer: string; readonly predicateType: string; readonly count: number }[] = [
  { signer: 'dependency-scanner', predicateType: VULNS, count: 4 },
  { signer: 'ci-tests', predicateType: TEST_RESULT, count: 3 },
  { signer: 'sbom-generator', predicateType: SPDX, count: 3 },
  { signer: 'sbom-generator', predicateType: CYCLONEDX, count: 2 },
  { signer: 'eval-harness', predicateType: EVALUATION, count: 4 },
];

export interface KeyRegistration {
  readonly name: string;
  readonly publicKey: string;
  readonly predicateTypes: readonly string[];
}

/** What one version is registered with: its provenance and the 19 other bundles. */
export interface VersionBundles {
  readonly provenance: string;
  readonly attestations: readonly string[];
}

type Predicate = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The predicates of the seed's clean fixture, by signer name. */
async function seedPredicates(repoRoot: string): Promise<ReadonlyMap<string, Predicate>> {
  const file = path.join(repoRoot, 'examples', 'policies', 'fixtures', 'clean.json');
  const fixture = JSON.parse(await readFile(file, 'utf8')) as unknown;
  const list = isRecord(fixture) ? fixture['attestations'] : undefined;
  if (!Array.isArray(list)) throw new Error(`${file} has no attestations list`);
  const out = new Map<string, Predicate>();
  for (const entry of list as unknown[]) {
    if (!isRecord(entry) || !isRecord(entry['signer']) || !isRecord(entry['predicate'])) throw new Error(`${file}: an attestation without signer or predicate`);
    const name = entry['signer']['name'];
    if (typeof name === 'string') out.set(name, entry['predicate']);
  }
  return out;
}

/** A predicate of one of the other types, varied by `n` so no two statements are the same. */
function otherPredicate(predicateType: string, n: number): Predicate {
  switch (predicateType) {
    case VULNS:
      return {
        invocation: { uri: `https://ci.example.com/dependency-scans/${n}`, producerId: 'https://ci.example.com/dependency-scanner' },
        scanner: {
          uri: 'pkg:github/anchore/grype@0.80.0',
          version: '0.80.0',
          result: Array.from({ length: 6 }, (_, i) => ({ id: `GHSA-bench-${n}-${i}`, severity: [{ method: 'cvss_v3', score: i % 2 === 0 ? 'LOW' : 'MEDIUM' }] })),
        },
        metadata: { scanStartedOn: '2026-11-25T10:15:00Z', scanFinishedOn: '2026-11-25T10:16:00Z' },
      };
    case TEST_RESULT:
      return {
        result: 'PASSED',
        configuration: [{ name: `unit-suite-${n}.yaml`, digest: { sha256: 'ab'.repeat(32) } }],
        url: `https://ci.example.com/test-runs/${n}`,
        passedTests: Array.from({ length: 12 }, (_, i) => `test-${i}`),
        warnedTests: [],
        failedTests: [],
      };
    case SPDX:
      return {
        spdxVersion: 'SPDX-2.3',
        SPDXID: 'SPDXRef-DOCUMENT',
        name: `model-sbom-${n}`,
        dataLicense: 'CC0-1.0',
        packages: Array.from({ length: 10 }, (_, i) => ({ SPDXID: `SPDXRef-Package-${i}`, name: `dependency-${i}`, versionInfo: `1.${i}.${n % 10}`, licenseConcluded: 'Apache-2.0' })),
      };
    case CYCLONEDX:
      return {
        bomFormat: 'CycloneDX',
        specVersion: '1.5',
        serialNumber: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
        components: Array.from({ length: 10 }, (_, i) => ({ type: 'library', name: `component-${i}`, version: `2.${i}.${n % 10}` })),
      };
    case EVALUATION:
      return {
        suite: `holdout-${n}`,
        dataset: { uri: 's3://datasets/fraud/holdout', digest: { sha256: 'cd'.repeat(32) } },
        metrics: { auc: 0.91 + (n % 5) / 1000, precision: 0.88, recall: 0.84, f1: 0.86 },
        passed: true,
      };
    default:
      throw new Error(`no predicate for ${predicateType}`);
  }
}

/** A signer's key, parsed once: parsing a PEM private key costs several signatures' worth of CPU. */
interface Signer {
  readonly key: TestKey;
  readonly privateKey: PrivateKeyInfo;
}

/** A bundle signed by `signer` about `versionDigest` (`sha256:<hex>`), as `custody attest` makes one. */
function sign(signer: Signer, versionDigest: string, predicateType: string, predicate: Predicate): string {
  const subjects = [{ name: 'model', digest: { sha256: versionDigest.replace(/^sha256:/, '') } }];
  return createAttestation({ subjects, predicateType, predicate, privateKey: signer.privateKey }).bundleJson;
}

/** The benchmark's signer keys (made here, Ed25519) and the bundles they sign. */
export class AttestationSet {
  private constructor(
    private readonly keys: ReadonlyMap<string, Signer>,
    private readonly idle: readonly TestKey[],
    private readonly seed: ReadonlyMap<string, Predicate>,
  ) {}

  static async create(repoRoot: string, idleKeys: number): Promise<AttestationSet> {
    const keys = new Map(
      SIGNERS.map((s) => {
        const key = makeKey(s.name);
        return [s.name, { key, privateKey: parsePrivateKey(key.privateKeyPem) }];
      }),
    );
    const idle = Array.from({ length: idleKeys }, (_, i) => makeKey(`retired-signer-${String(i + 1).padStart(2, '0')}`));
    const seed = await seedPredicates(repoRoot);
    for (const name of ['training-cluster', 'security-scanner', 'sandbox', 'red-team']) {
      if (!seed.has(name)) throw new Error(`the seed's clean fixture has no attestation by ${name}`);
    }
    return new AttestationSet(keys, idle, seed);
  }

  /** Every key to register: the signers, then the idle ones. */
  registrations(): KeyRegistration[] {
    const signers = SIGNERS.map((s) => ({ name: s.name, publicKey: this.signer(s.name).key.publicKeyPem, predicateTypes: s.predicateTypes }));
    const idle = this.idle.map((k) => ({ name: k.name, publicKey: k.publicKeyPem, predicateTypes: [EVALUATION] }));
    return [...signers, ...idle];
  }

  /** The 20 bundles about `versionDigest`: the provenance apart, the other 19 in a list. */
  bundlesFor(versionDigest: string, n: number): VersionBundles {
    const seeded = (signer: string, predicateType: string): string => sign(this.signer(signer), versionDigest, predicateType, this.seedPredicate(signer));
    const attestations = [seeded('security-scanner', VULNS), seeded('sandbox', TEST_RESULT), seeded('red-team', RED_TEAM)];
    for (const other of OTHERS) {
      for (let i = 0; i < other.count; i++) attestations.push(sign(this.signer(other.signer), versionDigest, other.predicateType, otherPredicate(other.predicateType, n * 100 + i)));
    }
    const provenance = seeded('training-cluster', SLSA);
    if (attestations.length + 1 !== ATTESTATIONS_PER_VERSION) throw new Error(`built ${attestations.length + 1} attestations, not ${ATTESTATIONS_PER_VERSION}`);
    return { provenance, attestations };
  }

  private signer(name: string): Signer {
    const signer = this.keys.get(name);
    if (signer === undefined) throw new Error(`no signer ${name}`);
    return signer;
  }

  private seedPredicate(signer: string): Predicate {
    const predicate = this.seed.get(signer);
    if (predicate === undefined) throw new Error(`no seed predicate for ${signer}`);
    return predicate;
  }
}
