/**
 * `custody demo` / `npm run demo` (issue 6 §9): the seed's scenario played end to end against a
 * real registry on a temporary data directory (SQLite + a blob directory, real HTTP on
 * loopback), narrating each step. Every refusal it shows is the registry refusing; every "✓" is
 * checked. It ends with exit 0 only when each step turned out as the scenario says.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../app/start-registry.js';
import { resolveConfig } from '../config/config.js';
import { CustodyError, isCustodyError } from '../domain/errors.js';
import { createLogger } from '../observability/logger.js';
import { parsePolicyDocument, readPolicyFixtures } from '../policy/index.js';
import { scanModel } from '../sdk/local-model.js';
import { LogWitness } from '../sdk/log-witness.js';
import type { DecisionBody } from '../sdk/promotion-api.js';
import { assembleCast, attest, NAMESPACE, RED_TEAM, TEST_RESULT, VULNS, type Cast } from './demo-cast.js';

const MODEL = `${NAMESPACE}/fraud-detector`;

/** The examples shipped beside `dist/` (policies and the fixtures their tests read). */
function examplesDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
}

/** A predicate of `type` from the clean fixture, so the demo's attestations are what the policy tests expect. */
async function cleanPredicate(type: string): Promise<Record<string, unknown>> {
  const fixture = JSON.parse(await readFile(path.join(examplesDir(), 'policies', 'fixtures', 'clean.json'), 'utf8')) as { attestations: { predicateType: string; predicate: Record<string, unknown> }[] };
  const found = fixture.attestations.find((a) => a.predicateType === type);
  if (found === undefined) throw new Error(`examples/policies/fixtures/clean.json has no ${type} predicate`);
  return structuredClone(found.predicate);
}

class Narrator {
  #step = 0;
  constructor(private readonly write: (text: string) => void) {}
  step(title: string): void {
    this.write(`\n▶ ${++this.#step}. ${title}\n`);
  }
  say(line: string): void {
    this.write(`   ${line}\n`);
  }
  ok(line: string): void {
    this.write(`   ✓ ${line}\n`);
  }
  refused(line: string): void {
    this.write(`   ✗ ${line}\n`);
  }
}

/** Runs `fn`, which must be refused with `code`; returns the refusal's message. */
async function expectRefusal(code: string, fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (error) {
    if (isCustodyError(error) && error.code === code) return error.message;
    throw error;
  }
  throw new CustodyError('INTERNAL', `demo: expected the registry to refuse with ${code}, but it accepted`);
}

function expectOutcome(decision: DecisionBody, outcome: 'allow' | 'deny'): void {
  if (decision.outcome !== outcome) throw new CustodyError('INTERNAL', `demo: expected ${outcome}, the registry decided ${decision.outcome}`);
}

function failedChecks(decision: DecisionBody): string[] {
  return [...decision.requirements, ...decision.gates].filter((c) => c.result !== 'PASS').map((c) => `${c.name}: ${c.message} (${c.result})`);
}

async function pushPolicy(by: Cast['policyAdmin'], file: string): Promise<{ id: string; status: string; digest: string }> {
  const text = await readFile(file, 'utf8');
  const fixtures = await readPolicyFixtures(parsePolicyDocument(text, file), path.dirname(file));
  return by.promotion.pushPolicy({ document: text, fixtures });
}

export async function runSeedDemo(
  write: (text: string) => void = (t) => {
    process.stdout.write(t);
  },
): Promise<void> {
  const n = new Narrator(write);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'custody-demo-'));
  const config = resolveConfig({ server: { port: 0 }, log: { origin: 'demo.custody.local/log' } }, {});
  const bootstrapToken = `custody_demo_${randomBytes(24).toString('base64url')}`;
  const registry = await startRegistry({ config, dataDir, bootstrapToken, logger: createLogger('error') });
  let cast: Cast | undefined;
  try {
    n.step(`A registry on ${registry.url} (SQLite + a blob directory in ${dataDir})`);
    n.say('environments: development → staging → production; production only by service principals; production policy changes need two people');
    cast = await assembleCast(registry.url, bootstrapToken, (line) => {
      n.say(line);
    });
    const { releaseManager, deployer, policyAdmin } = cast;

    n.step('Policy admins put the gates in place');
    const staging = await pushPolicy(cast.policyAdmin, path.join(examplesDir(), 'policies', 'staging.yaml'));
    n.ok(`staging policy ${staging.digest.slice(0, 19)}… is ${staging.status} (its own tests passed)`);
    const production = await pushPolicy(cast.policyAdmin, path.join(examplesDir(), 'policies', 'production.yaml'));
    n.say(`production policy ${production.digest.slice(0, 19)}… is ${production.status}: the two-person rule applies`);
    const approved = await cast.secondPolicyAdmin.promotion.approvePolicy(production.id);
    n.ok(`quinn approved it: production policy is ${approved.status} (training, scan, sandbox, red team; three gates)`);

    n.step('A data scientist pushes a model with provenance signed by the training cluster');
    const modelDir = path.join(dataDir, 'work', 'fraud-detector');
    await mkdir(modelDir, { recursive: true });
    await writeFile(path.join(modelDir, 'model.safetensors'), randomBytes(256 * 1024));
    await writeFile(path.join(modelDir, 'config.json'), JSON.stringify({ architecture: 'gbdt', features: 42 }));
    const local = await scanModel(modelDir);
    const provenance = attest(cast.signers.training, MODEL, local.digest, await cleanPredicate('https://slsa.dev/provenance/v1'));
    const pushed = await cast.dataScientist.push(modelDir, { model: MODEL, provenance });
    const digest = pushed.version.digest;
    const ref = `${MODEL}@${digest}`;
    n.ok(`${MODEL} v${pushed.version.number} = ${digest} is in development (log entry ${pushed.version.receipt?.logIndex ?? '?'})`);

    n.step('The security scanner and the sandbox attest');
    await cast.scanner.addAttestation(ref, attest(cast.signers.scanner, MODEL, digest, await cleanPredicate(VULNS)));
    n.ok('security-scanner: no critical vulnerabilities (signed in-toto vulns/v0.2)');
    await cast.sandbox.addAttestation(ref, attest(cast.signers.sandbox, MODEL, digest, await cleanPredicate(TEST_RESULT)));
    n.ok('sandbox: behavioural tests PASSED (signed test-result/v0.1)');

    n.step('The release pipeline promotes to staging');
    const toStaging = await cast.release.promotion.promote(ref, 'staging');
    expectOutcome(toStaging, 'allow');
    n.ok(`allowed: ci-release moved staging to v${pushed.version.number} (decision ${toStaging.id}, log entry ${toStaging.logIndex})`);

    n.step('A release manager (a user) tries to promote to production');
    const refusal = await expectRefusal('FORBIDDEN', () => releaseManager.promotion.promote(ref, 'production'));
    n.refused(`refused: ${refusal}`);

    n.step('The release pipeline (a service) promotes to production before the red team has finished');
    const pending = await cleanPredicate(RED_TEAM);
    await cast.redTeam.addAttestation(ref, attest(cast.signers.redTeam, MODEL, digest, { ...pending, status: 'PENDING' }));
    n.say('red-team: assessment PENDING (signed red-team/v1)');
    const denied = await cast.release.promotion.promote(ref, 'production');
    expectOutcome(denied, 'deny');
    for (const line of failedChecks(denied)) n.refused(`denied — ${line}`);
    if (!failedChecks(denied).some((l) => l.includes('Red team assessment is pending or rejected'))) throw new CustodyError('INTERNAL', 'demo: the denial does not name the red-team gate');

    n.step('The red team approves; the release pipeline promotes again');
    await cast.redTeam.addAttestation(ref, attest(cast.signers.redTeam, MODEL, digest, { ...pending, status: 'APPROVED' }));
    n.ok('red-team: assessment APPROVED');
    const allowed = await cast.release.promotion.promote(ref, 'production');
    expectOutcome(allowed, 'allow');
    n.ok(`allowed: production now holds ${digest} (decision ${allowed.id}, log entry ${allowed.logIndex})`);
    n.say(`policy ${allowed.effectiveDigest.slice(0, 19)}…, CEL input ${allowed.inputDigest.slice(0, 19)}…`);
    const vsa = JSON.parse(allowed.vsa ?? '{}') as { dsseEnvelope?: { payload?: string } };
    const statement = JSON.parse(Buffer.from(vsa.dsseEnvelope?.payload ?? '', 'base64').toString('utf8')) as { predicateType?: string; predicate?: Record<string, unknown> };
    n.say(`VSA (${statement.predicateType ?? '?'}), signed with the registry's VSA key:`);
    n.say(`  resource ${String(statement.predicate?.['resourceUri'])}, result ${String(statement.predicate?.['verificationResult'])}, ${String((statement.predicate?.['inputAttestations'] as unknown[] | undefined)?.length ?? 0)} input attestations`);

    n.step('A deployer pulls fraud/fraud-detector@production and verifies it against pinned keys');
    const { verifierKey } = await cast.deployer.logKey();
    const { publicKey } = await cast.deployer.promotion.vsaKey();
    n.say('pinned the log key and the VSA key (in production: obtained out of band)');
    const witness = new LogWitness(verifierKey);
    const pulled = await cast.deployer.pull(`${MODEL}@production`, { output: path.join(dataDir, 'work', 'deployed'), witness, vsaKey: publicKey });
    n.ok(`${pulled.files} files, ${pulled.bytes} bytes, digest ${pulled.version.digest} — every file hashed, log inclusion proven, VSA verified`);

    n.step('The scanner key is stolen: a key admin revokes it from before the scan');
    const revoked = await cast.admin.revokeKey('security-scanner', { reason: 'key leaked from the CI runner', compromisedSince: new Date(Date.now() - 3_600_000).toISOString() });
    n.ok(`key security-scanner revoked (invalid from ${revoked.revocation?.invalidFrom ?? '?'})`);
    const status = await cast.deployer.promotion.status(MODEL);
    for (const env of status.environments) {
      const q = env.quarantines[0];
      n.say(`${env.environment.padEnd(11)} v${env.number ?? '-'} ${q === undefined ? 'ok' : `QUARANTINED — ${q.reason}`}`);
    }
    const quarantined = await expectRefusal('VERIFICATION_FAILED', () => deployer.pull(`${MODEL}@production`, { output: path.join(dataDir, 'work', 'again'), witness, vsaKey: publicKey }));
    n.refused(`pull @production refused: ${quarantined}`);

    n.step('One policy admin tries to weaken the production policy (drops the red-team gate)');
    const weakened = parsePolicyDocument(await readFile(path.join(examplesDir(), 'policies', 'production.yaml'), 'utf8'));
    const doc = { ...weakened, spec: { ...weakened.spec, gates: weakened.spec.gates.filter((g) => g.name !== 'red-team-approved'), tests: weakened.spec.tests.filter((t) => !t.name.includes('red-team')) } };
    const fixtures = await readPolicyFixtures(doc, path.join(examplesDir(), 'policies'));
    const attempt = await cast.policyAdmin.promotion.pushPolicy({ document: JSON.stringify(doc), fixtures });
    const shown = await cast.deployer.promotion.showPolicy('production');
    if (attempt.status !== 'proposed' || shown.active?.digest !== approved.digest) throw new CustodyError('INTERNAL', 'demo: the weakened policy should have stayed proposed');
    n.refused(`stays ${attempt.status}: production still enforces ${shown.active.digest.slice(0, 19)}… until a second admin approves`);
    const selfApproval = await expectRefusal('FORBIDDEN', () => policyAdmin.promotion.approvePolicy(attempt.id));
    n.refused(`pat approving it: ${selfApproval}`);

    n.step('Everything above is in the transparency log');
    const checkpoint = await witness.observe(cast.deployer, await cast.deployer.logCheckpoint());
    n.ok(`checkpoint of ${checkpoint.size} entries verified with the pinned log key; see \`custody audit\` and \`custody log verify\``);
    write('\nDemo complete.\n');
  } finally {
    cast?.close();
    await registry.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
