/**
 * Policies and gated promotion through the built `custody` CLI against a real registry, once per
 * metadata backend (SPEC §2, §6, §8, §10; issue 6): the seed's four signer keys; a model pushed
 * with signed training provenance, then scan and sandbox attestations; the examples' staging
 * policy active at once and the production policy proposed until a second admin approves it;
 * a CI service promotes to staging (exit 0), is denied production with the red team's message
 * (exit 3), and after the red-team approval is allowed with a VSA; a user with the same binding
 * gets exit 5; a stale --expect-current is ALIAS_MOVED (exit 1); `policy eval` exits 3 then 0;
 * `status` and `show` list the environments; `pull @production` verifies the VSA with the key
 * pinned at login or on first use and refuses another key, a VSA of another version or a placement
 * an insider stripped of its decision (exit 4);
 * `policy history` shows both versions with a diff; revoking the scanner key with
 * --compromised-since quarantines the placements and `pull @production` exits 4 naming it.
 * Run `npm run build` first.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicyDocument } from '../../src/policy/index.js';
import { verifyVsa } from '../../src/promotion/vsa.js';
import { rawSql } from '../support/raw-sql.js';
import { BACKENDS, REPO_ROOT, runCli, startTestRegistry, type CliResult, type TestRegistry } from '../support/registry.js';
import { RED_TEAM, SLSA, TEST_RESULT, VULNS } from '../support/trust-fixtures.js';

const TIMEOUT = 180_000;
const POLICIES = path.join(REPO_ROOT, 'examples', 'policies');
const RED_TEAM_MESSAGE = 'Red team assessment is pending or rejected';

type Json = Record<string, unknown>;

function ok(result: CliResult): CliResult {
  if (result.code !== 0) throw new Error(`custody exited ${String(result.code)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

/** The one JSON document a `--json` run printed (also for failures: `{error: …}`). */
function json(result: CliResult): Json {
  try {
    return JSON.parse(result.stdout) as Json;
  } catch {
    throw new Error(`not JSON (exit ${String(result.code)})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

/** The line of `text` that starts with `first` (after leading spaces). */
function lineOf(text: string, first: string): string {
  const line = text.split('\n').find((l) => l.trimStart().startsWith(first));
  if (line === undefined) throw new Error(`no line starting with ${first} in:\n${text}`);
  return line;
}

/** The predicates of the examples' clean fixture, by predicate type: the shapes the seed's gates read. */
async function cleanPredicates(): Promise<Map<string, Json>> {
  const fixture = JSON.parse(await readFile(path.join(POLICIES, 'fixtures', 'clean.json'), 'utf8')) as { attestations: { predicateType: string; predicate: Json }[] };
  return new Map(fixture.attestations.map((a) => [a.predicateType, a.predicate]));
}

describe.each(BACKENDS)('policies and gated promotion through the CLI on %s', (backend) => {
  let reg: TestRegistry | undefined;
  let work = '';
  let adminEnv: Record<string, string> = {};
  let predicates = new Map<string, Json>();
  let v1 = '';
  let v2 = '';
  let ciToken = '';
  let aliceToken = '';
  let admin2Token = '';

  const file = (name: string): string => path.join(work, name);
  const admin = (...args: string[]): Promise<CliResult> => runCli(args, adminEnv);
  const as = (token: string, ...args: string[]): Promise<CliResult> => {
    if (token === '') throw new Error('the token was not created (an earlier test failed)');
    return runCli(args, { ...adminEnv, CUSTODY_TOKEN: token });
  };
  const pushed = (digest: string): string => {
    if (digest === '') throw new Error('the model was not pushed (an earlier test failed)');
    return digest;
  };
  /** `custody attest` a predicate of the clean fixture (or `predicate`) about `digest` with `key`; returns the bundle file. */
  const attest = async (digest: string, type: string, key: string, name: string, predicate?: Json): Promise<string> => {
    const body = predicate ?? predicates.get(type);
    if (body === undefined) throw new Error(`no predicate for ${type}`);
    await writeFile(file(`${name}.predicate.json`), JSON.stringify(body));
    ok(await admin('attest', digest, '--predicate-type', type, '--predicate', file(`${name}.predicate.json`), '--key', file(`${key}.key`), '--output', file(name), '--quiet'));
    return file(name);
  };
  /** A model directory pushed with signed training provenance; returns its version digest. */
  const pushModel = async (dir: string, content: string): Promise<string> => {
    await mkdir(file(dir));
    await writeFile(path.join(file(dir), 'weights.bin'), content);
    await writeFile(path.join(file(dir), 'config.json'), `{"model":"${dir}"}`);
    const digest = String(json(ok(await admin('--json', 'digest', file(dir)))).digest);
    const provenance = await attest(digest, SLSA, 'trainer', `${dir}.provenance.json`);
    expect(json(ok(await admin('--json', 'push', file(dir), '--model', 'fraud/detector', '--provenance', provenance)))).toMatchObject({ digest, created: true });
    return digest;
  };
  /** The VSA key the registry serves, straight from the API. */
  const servedVsaKey = async (): Promise<Json> => {
    if (reg === undefined) throw new Error('no registry');
    return (await (await fetch(`${reg.url}/api/v1/vsa/key`, { headers: { authorization: `Bearer ${reg.token}` } })).json()) as Json;
  };
  const createPrincipal = async (name: string, kind: 'user' | 'service', role: string, environments?: string): Promise<string> => {
    ok(await admin('principals', 'create', name, '--kind', kind));
    ok(await admin('roles', 'grant', role, '--principal', name, ...(environments === undefined ? [] : ['--environments', environments])));
    return ok(await admin('tokens', 'create', '--principal', name, '--expires', '1d')).stdout.trim();
  };

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    work = await mkdtemp(path.join(tmpdir(), `custody-promotion-cli-${backend}-`));
    adminEnv = { CUSTODY_SERVER: reg.url, CUSTODY_TOKEN: reg.token, XDG_CONFIG_HOME: path.join(work, 'xdg') };
    predicates = await cleanPredicates();
    await Promise.all(['trainer', 'scanner', 'sandbox', 'redteam', 'stranger'].map(async (k) => ok(await admin('keygen', '--out', file(k), '--quiet'))));
  }, TIMEOUT);

  afterAll(async () => {
    try {
      await reg?.stop();
    } finally {
      if (work !== '') await rm(work, { recursive: true, force: true });
    }
  });

  it('the seed four keys are registered, a model is pushed with signed provenance, and scan and sandbox attestations are added', async () => {
    for (const [name, key, type] of [['training-cluster', 'trainer', SLSA], ['security-scanner', 'scanner', VULNS], ['sandbox', 'sandbox', TEST_RESULT], ['red-team', 'redteam', RED_TEAM]] as const) {
      ok(await admin('keys', 'add', name, '--public-key', file(`${key}.pub`), '--predicate-types', type));
    }
    v1 = await pushModel('detector', 'detector weights v1');
    const [scan, sandbox] = await Promise.all([attest(v1, VULNS, 'scanner', 'scan.json'), attest(v1, TEST_RESULT, 'sandbox', 'sandbox.json')]);
    ok(await admin('attestations', 'add', 'fraud/detector@v1', scan, sandbox));
    const listed = json(ok(await admin('--json', 'attestations', 'list', 'fraud/detector@v1'))).items as Json[];
    expect(listed.map((a) => [a.predicateType, a.key, (a.status as Json).valid])).toEqual([
      [SLSA, 'training-cluster', true],
      [VULNS, 'security-scanner', true],
      [TEST_RESULT, 'sandbox', true],
    ]);
  }, TIMEOUT);

  it('policy push: staging is active at once; production stays proposed until a second admin approves it, never its proposer', async () => {
    const staging = ok(await admin('policy', 'push', path.join(POLICIES, 'staging.yaml')));
    expect(staging.stdout).toMatch(/^policy staging-gate: staging #1 sha256:[0-9a-f]{64} ACTIVE$/m);
    expect(staging.stdout).toContain('tests:    4 of 4 passed at push');
    expect(staging.stdout).toMatch(/logged: entry \d+ \(policy\.activated\)/);

    const production = json(ok(await admin('--json', 'policy', 'push', path.join(POLICIES, 'production.yaml'))));
    expect(production).toMatchObject({ environment: 'production', number: 1, status: 'proposed', proposedBy: 'admin', approvedBy: null });
    expect((production.tests as Json[]).every((t) => t.passed === true)).toBe(true);
    const id = String(production.id);

    const [proposed, before] = await Promise.all([admin('policy', 'proposed'), admin('--json', 'policy', 'show', 'production')]);
    expect(lineOf(ok(proposed).stdout, id)).toMatch(new RegExp(`^${id} +production +#1 +${String(production.digest)} +admin `));
    expect(json(ok(before))).toMatchObject({ environment: 'production', active: null });

    const self = await admin('--json', 'policy', 'approve', id);
    expect(self.code).toBe(5);
    expect(json(self)).toMatchObject({ error: { code: 'FORBIDDEN', details: { rule: 'twoPersonPolicyChange' } } });

    admin2Token = await createPrincipal('admin2', 'user', 'admin');
    const approved = ok(await as(admin2Token, 'policy', 'approve', id));
    expect(approved.stdout).toContain(`approved policy production #1 ${String(production.digest)} ACTIVE`);
    expect(approved.stdout).toMatch(/proposed by admin at .*; approved by admin2 at /);
    expect(approved.stdout).toContain('tests:    6 of 6 passed again at activation');

    const shown = ok(await admin('policy', 'show', 'production')).stdout;
    expect(shown).toContain(`active policy:     production #1 ${String(production.digest)} ACTIVE`);
    expect(shown).toMatch(/effective digest: +sha256:[0-9a-f]{64}/);
    expect(shown).toMatch(/red-team-approved: redteam\.exists/);
    expect(shown).toContain(`denies with: ${RED_TEAM_MESSAGE}`);
    expect(shown).toContain('active document (YAML):');
    expect(ok(await admin('policy', 'proposed')).stdout).toContain('no policy is waiting for approval');
  }, TIMEOUT);

  it('a CI service promotes to staging (exit 0), is denied production naming the red team (exit 3), and policy eval agrees (exit 3)', async () => {
    const digest = pushed(v1);
    ciToken = await createPrincipal('ci-release', 'service', 'promoter', 'staging,production');
    aliceToken = await createPrincipal('alice', 'user', 'promoter', 'staging,production');

    const staging = json(ok(await as(ciToken, '--json', 'promote', 'fraud/detector@v1', '--to', 'staging')));
    expect(staging).toMatchObject({ model: 'fraud/detector', version: digest, environment: 'staging', outcome: 'allow', principal: 'ci-release', principalKind: 'service' });
    expect(typeof staging.vsa).toBe('string');

    const evaluated = await admin('policy', 'eval', 'fraud/detector@v1', '--env', 'production');
    expect(evaluated.code).toBe(3);
    expect(evaluated.stdout).toContain(`fraud/detector@v1 (${digest}) into production: would be DENIED`);
    expect(lineOf(evaluated.stdout, '✓ PASS     requirement requireFrom')).toContain('currently in staging');
    expect(lineOf(evaluated.stdout, '✗ MISSING  requirement redteam (policy)')).toContain('no valid https://custody.dev/attestation/red-team/v1 attestation signed by red-team');
    expect(lineOf(evaluated.stdout, '✗ MISSING  gate red-team-approved')).toContain(RED_TEAM_MESSAGE);
    expect(evaluated.stdout).toContain('nothing was decided or logged');

    const denied = await as(ciToken, 'promote', 'fraud/detector@v1', '--to', 'production');
    expect(denied.code).toBe(3);
    expect(denied.stdout).toContain(`DENIED: fraud/detector@${digest} was not promoted into production`);
    expect(lineOf(denied.stdout, '✗ MISSING  gate red-team-approved')).toBe(`  ✗ MISSING  gate red-team-approved: ${RED_TEAM_MESSAGE}`);
    expect(denied.stdout).not.toContain('✓');
    expect(denied.stdout).toMatch(/logged: entry \d+ \(promotion\.decided\)/);

    const deniedJson = await as(ciToken, '--json', 'promote', 'fraud/detector@v1', '--to', 'production');
    expect(deniedJson.code).toBe(3);
    const decision = json(deniedJson);
    expect(decision).toMatchObject({ outcome: 'deny', environment: 'production', version: digest, vsa: null });
    expect(decision.gates).toContainEqual(expect.objectContaining({ name: 'red-team-approved', result: 'MISSING', message: RED_TEAM_MESSAGE }));
  }, TIMEOUT);

  it('after the red team approves, a user with promoter gets exit 5, the service is allowed with a VSA, and a stale --expect-current is ALIAS_MOVED', async () => {
    const digest = pushed(v1);
    ok(await admin('attestations', 'add', 'fraud/detector@v1', await attest(digest, RED_TEAM, 'redteam', 'redteam.json')));
    const evaluated = ok(await admin('--json', 'policy', 'eval', 'fraud/detector@v1', '--env', 'production'));
    expect(json(evaluated)).toMatchObject({ version: digest, number: 1, environment: 'production', evaluation: { outcome: 'allow' } });

    const user = await as(aliceToken, '--json', 'promote', 'fraud/detector@v1', '--to', 'production');
    expect(user.code).toBe(5);
    expect(json(user)).toMatchObject({ error: { code: 'FORBIDDEN' } });

    const allowed = ok(await as(ciToken, 'promote', 'fraud/detector@v1', '--to', 'production', '--expect-current', 'none', '--vsa-out', file('production.vsa.json')));
    expect(allowed.stdout).toContain(`ALLOWED: fraud/detector@${digest} promoted into production`);
    for (const gate of ['no-critical-vulns', 'sandbox-passed', 'red-team-approved']) expect(allowed.stdout).toContain(`✓ PASS     gate ${gate}`);
    expect(allowed.stdout).not.toContain('✗');
    expect(allowed.stdout).toMatch(/logged: entry \d+ \(promotion\.decided\)/);
    expect(allowed.stdout).toMatch(/^VSA: +sha256:[0-9a-f]{64} \(SLSA verification summary/m);
    expect(allowed.stdout).toContain(`written to ${file('production.vsa.json')}`);
    const vsaKey = await servedVsaKey();
    const verified = verifyVsa(await readFile(file('production.vsa.json'), 'utf8'), { publicKey: String(vsaKey.publicKey), expectedDigest: digest, expectedEnvironment: 'production' });
    expect(verified.facts).toMatchObject({ versionDigest: digest, environment: 'production' });

    const stale = await as(ciToken, '--json', 'promote', 'fraud/detector@v1', '--to', 'production', '--expect-current', 'none');
    expect(stale.code).toBe(1);
    expect(json(stale)).toMatchObject({ error: { code: 'ALIAS_MOVED', details: { current: digest } } });
    expect(String((json(stale).error as Json).message)).toContain(`production holds ${digest}`);
    const badFlag = await as(ciToken, 'promote', 'fraud/detector@v1', '--to', 'production', '--expect-current', 'latest');
    expect(badFlag.code).toBe(2);
  }, TIMEOUT);

  it('status shows which version each environment holds and by which decision; show lists the environments of a version', async () => {
    const digest = pushed(v1);
    const status = json(ok(await admin('--json', 'status', 'fraud/detector')));
    const rows = status.environments as Json[];
    expect(rows.map((r) => [r.environment, r.version, r.number])).toEqual([
      ['development', digest, 1],
      ['staging', digest, 1],
      ['production', digest, 1],
    ]);
    expect(rows[0]?.decision).toBeNull();
    const text = ok(await admin('status', 'fraud/detector')).stdout;
    expect(lineOf(text, 'development')).toMatch(new RegExp(`^development +v1 +${digest} +\\S+ +registration +-$`));
    expect(lineOf(text, 'production')).toMatch(new RegExp(`^production +v1 +${digest} +\\S+ +${String(rows[2]?.decision)} +-$`));

    const shown = ok(await admin('show', 'fraud/detector@production')).stdout;
    expect(shown).toContain('environments (which hold this version):');
    expect(lineOf(shown, 'staging ')).toContain(String(rows[1]?.decision));
  }, TIMEOUT);

  it('pull @production verifies the VSA with the key pinned on first use and writes the files; pull @development says there is no VSA', async () => {
    const digest = pushed(v1);
    const pulled = ok(await admin('--json', 'pull', 'fraud/detector@production', '-o', file('pulled-production')));
    expect(pulled.stderr).toContain('trusting the VSA key of');
    const result = json(pulled);
    expect(result).toMatchObject({ digest, verified: true, placement: { environment: 'production', digest, placedBy: { kind: 'decision', principal: 'ci-release', logProven: true } } });
    expect(await readFile(path.join(file('pulled-production'), 'weights.bin'), 'utf8')).toBe('detector weights v1');

    const again = ok(await admin('pull', 'fraud/detector@production', '-o', file('pulled-production-2')));
    expect(again.stderr).not.toContain('trusting the VSA key');
    expect(again.stdout).toMatch(/VSA: +sha256:[0-9a-f]{64} verified with the pinned VSA key [0-9a-f]{64}/);

    const development = ok(await admin('pull', 'fraud/detector@development', '-o', file('pulled-development')));
    expect(development.stdout).toContain('environment: development, placed there by the version\'s registration (proven in the log): no promotion decision, so no VSA');
  }, TIMEOUT);

  it('login pins the VSA key; another key given later is refused (exit 4), and a pull trusting another key fails and writes nothing', async () => {
    pushed(v1);
    const loginEnv = { ...adminEnv, XDG_CONFIG_HOME: path.join(work, 'xdg-login') };
    const served = await servedVsaKey();
    const login = json(ok(await runCli(['--json', 'login'], loginEnv)));
    expect(login.vsaKeyId).toBe(served.keyId);
    const other = await runCli(['--json', 'login', '--vsa-key', file('stranger.pub')], loginEnv);
    expect(other.code).toBe(4);
    expect(String((json(other).error as Json).message)).toContain(`differs from the VSA key pinned for ${reg?.url ?? ''}`);

    const strangerEnv = { ...adminEnv, XDG_CONFIG_HOME: path.join(work, 'xdg-stranger') };
    const wrongKey = await runCli(['pull', 'fraud/detector@production', '-o', file('never-written'), '--vsa-key', file('stranger.pub')], strangerEnv);
    expect(wrongKey.code).toBe(4);
    expect(wrongKey.stderr).toContain('the VSA signature is not valid for the pinned VSA key');
    expect(existsSync(file('never-written'))).toBe(false);
  }, TIMEOUT);

  it('pull @production refuses a VSA of another version that an insider puts on the decision, and a placement stripped of its decision (exit 4)', async () => {
    const digest = pushed(v1);
    v2 = await pushModel('detector-v2', 'detector weights v2');
    ok(await admin('attestations', 'add', 'fraud/detector@v2', await attest(v2, VULNS, 'scanner', 'scan-v2.json')));
    const otherVsa = String(json(ok(await as(ciToken, '--json', 'promote', 'fraud/detector@v2', '--to', 'staging'))).vsa);
    const storage = { dataDir: reg?.dataDir ?? '', metadataSpec: reg?.metadataSpec ?? '' };
    const [row] = await rawSql(storage, 'select id, vsa from decisions where environment = ? and version_digest = ? and outcome = ?', ['production', digest, 'allow']);
    await rawSql(storage, 'update decisions set vsa = ? where id = ?', [otherVsa, String(row?.id)]);
    try {
      const swapped = await admin('pull', 'fraud/detector@production', '-o', file('never-written'));
      expect(swapped.code).toBe(4);
      expect(swapped.stderr).toContain(`the VSA is for another version: its subject is ${v2}, expected ${digest}`);
      expect(existsSync(file('never-written'))).toBe(false);
    } finally {
      await rawSql(storage, 'update decisions set vsa = ? where id = ?', [String(row?.vsa), String(row?.id)]);
    }
    ok(await admin('pull', 'fraud/detector@production', '-o', file('pulled-restored')));

    // An insider drops the decision from the production placement, as if registration had put it
    // there: the logged registration names development, so there must be a decision and a VSA.
    const [alias] = await rawSql(storage, 'select decision_id from aliases where namespace = ? and name = ? and environment = ?', ['fraud', 'detector', 'production']);
    await rawSql(storage, 'update aliases set decision_id = null where namespace = ? and name = ? and environment = ?', ['fraud', 'detector', 'production']);
    try {
      const undecided = await admin('--json', 'pull', 'fraud/detector@production', '-o', file('never-written'));
      expect(undecided.code).toBe(4);
      expect(json(undecided)).toMatchObject({ error: { code: 'VERIFICATION_FAILED', details: { check: 'registration' } } });
      expect(String((json(undecided).error as Json).message)).toMatch(/has no promotion decision, so no VSA, but the logged registration \(entry \d+\) placed the version in development/);
      expect(existsSync(file('never-written'))).toBe(false);
    } finally {
      await rawSql(storage, 'update aliases set decision_id = ? where namespace = ? and name = ? and environment = ?', [String(alias?.decision_id), 'fraud', 'detector', 'production']);
    }
  }, TIMEOUT);

  it('policy history shows both production versions with their digests, who proposed and approved them, and a diff', async () => {
    // A single admin weakens the production policy: no red-team requirement, gate or test.
    const doc = parsePolicyDocument(await readFile(path.join(POLICIES, 'production.yaml'), 'utf8'), 'production.yaml');
    const attestations = Object.fromEntries(Object.entries(doc.spec.attestations).filter(([name]) => name !== 'redteam'));
    const weakened = { ...doc, spec: { ...doc.spec, attestations, gates: doc.spec.gates.filter((g) => g.name !== 'red-team-approved'), tests: doc.spec.tests.filter((t) => !t.name.includes('red-team')) } };
    await mkdir(file('weakened'));
    await writeFile(path.join(file('weakened'), 'production.json'), JSON.stringify(weakened));
    await mkdir(path.join(file('weakened'), 'fixtures'));
    for (const fixture of ['clean.json', 'critical-vuln.json', 'sandbox-failed.json', 'missing-training.json', 'not-in-staging.json']) {
      await writeFile(path.join(file('weakened'), 'fixtures', fixture), await readFile(path.join(POLICIES, 'fixtures', fixture)));
    }
    const pushedWeak = json(ok(await admin('--json', 'policy', 'push', path.join(file('weakened'), 'production.json'))));
    expect(pushedWeak).toMatchObject({ number: 2, status: 'proposed' });

    const history = json(ok(await admin('--json', 'policy', 'history', 'production'))).items as Json[];
    expect(history.map((p) => [p.number, p.status, p.proposedBy, p.approvedBy])).toEqual([
      [2, 'proposed', 'admin', null],
      [1, 'active', 'admin', 'admin2'],
    ]);
    const text = ok(await admin('policy', 'history', 'production')).stdout;
    expect(text).toContain(`production #2 ${String(history[0]?.digest)} PROPOSED`);
    expect(text).toContain(`production #1 ${String(history[1]?.digest)} ACTIVE`);
    expect(text).toContain(`--- ${String(history[1]?.digest)}`);
    expect(text).toContain(`+++ ${String(history[0]?.digest)}`);
    expect(text).toMatch(/^ {4}-.*red-team-approved/m);
    expect(text).toMatch(/proposed by admin at .*; approved by admin2 at /);
    // The effective policy is unchanged: the red team is still required.
    expect(ok(await admin('policy', 'show', 'production')).stdout).toContain(`active policy:     production #1 ${String(history[1]?.digest)} ACTIVE`);
  }, TIMEOUT);

  it('revoking the scanner key from before its scan quarantines the placements: status shows it and pull @production exits 4 naming it', async () => {
    const digest = pushed(v1);
    const listed = json(ok(await admin('--json', 'attestations', 'list', 'fraud/detector@v1'))).items as Json[];
    const since = String(listed.find((a) => a.predicateType === VULNS)?.loggedAt);
    ok(await admin('keys', 'revoke', 'security-scanner', '--reason', 'scanner host compromised', '--compromised-since', since));

    const status = json(ok(await admin('--json', 'status', 'fraud/detector')));
    const production = (status.environments as Json[]).find((e) => e.environment === 'production');
    expect(production).toMatchObject({ version: digest, quarantines: [expect.objectContaining({ environment: 'production' })] });
    expect(String((production?.quarantines as Json[])[0]?.reason)).toContain('key security-scanner was revoked');
    expect(lineOf(ok(await admin('status', 'fraud/detector')).stdout, 'production')).toMatch(/QUARANTINED: key security-scanner was revoked: .*scan/);

    const refused = await admin('--json', 'pull', 'fraud/detector@production', '-o', file('never-written'));
    expect(refused.code).toBe(4);
    const error = json(refused).error as Json;
    expect(error).toMatchObject({ code: 'VERIFICATION_FAILED', details: { check: 'quarantine' } });
    expect(String(error.message)).toContain(`fraud/detector@production (${digest}) is quarantined: key security-scanner was revoked`);
    expect(existsSync(file('never-written'))).toBe(false);
    // Pulling by number is not an environment pull: it still works, and reports the revoked scan.
    ok(await admin('pull', 'fraud/detector@v1', '-o', file('pulled-by-number')));
  }, TIMEOUT);
});
