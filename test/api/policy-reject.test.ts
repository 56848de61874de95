/**
 * Rejecting a pending policy proposal over real HTTP and the built CLI, on SQLite and PostgreSQL
 * (issue 8 §1, reference/ui-screens.md §2.4, SPEC §6.2): a second policy admin rejects the admin's
 * proposal with a reason — the record is rejected with who, why and the log index, the
 * `policy.rejected` event carries the proposal id, environment, digest and reason, the active
 * policy is untouched; a rejected proposal can be neither approved nor rejected again and an
 * active policy cannot be rejected (409); the reason is required, bounded and free of control
 * characters (400); a viewer and a policy admin of another environment are refused (403), an
 * unknown id is 404; the proposer may withdraw its own proposal; `custody policy reject` works as
 * text and `--json`; afterwards `log verify --full` passes and `admin verify-store` is clean, and
 * reports an edited rejection reason.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvePolicy, createPrincipal, loggedEvents, proposeProduction, type Seed, setUpSeed, withFirstGateMessage } from '../support/promotion-fixtures.js';
import { rawSql } from '../support/raw-sql.js';
import { BACKENDS, expectCliOk, runCli, startTestRegistry, type CliResult, type TestRegistry } from '../support/registry.js';
import { api, type JsonReply } from '../support/trust-fixtures.js';

type Json = Record<string, unknown>;

describe.each(BACKENDS)('rejecting a policy proposal (%s)', (backend) => {
  let reg: TestRegistry;
  let seed: Seed;
  let viewer: string;
  let work: string;
  let proposals = 0;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'custody-policy-reject-'));
    reg = await startTestRegistry(backend);
    seed = await setUpSeed(reg, ['production']);
    viewer = await createPrincipal(reg, 'vera', 'user', [{ role: 'viewer' }]);
  });

  afterAll(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** Pushes the shipped production policy with a changed gate message as `token`; returns the proposal. */
  function propose(token = reg.token): Promise<Json> {
    return proposeProduction(reg, withFirstGateMessage(`Proposal ${++proposals} on ${backend}`), token);
  }

  const reject = (id: string, body: unknown, token = seed.principals.approver): Promise<JsonReply> => api(reg, 'POST', `/api/v1/policies/${id}/reject`, body, token);

  async function historyItem(id: string): Promise<Json | undefined> {
    const reply = await api(reg, 'GET', '/api/v1/environments/production/policy/history');
    expect(reply.status).toBe(200);
    return (reply.json['items'] as Json[]).find((p) => p['id'] === id);
  }

  async function activeId(): Promise<unknown> {
    const reply = await api(reg, 'GET', '/api/v1/environments/production/policy');
    return (reply.json['active'] as Json)['id'];
  }

  function cli(args: readonly string[], token = seed.principals.approver): Promise<CliResult> {
    return runCli(args, { CUSTODY_SERVER: reg.url, CUSTODY_TOKEN: token, XDG_CONFIG_HOME: path.join(work, 'xdg') });
  }

  it('rejects a pending proposal with a reason: the record is rejected, policy.rejected is logged with the reason, the active policy stays', async () => {
    const proposal = await propose();
    const id = String(proposal['id']);
    const reason = 'Weakens the red-team gate without a review';
    const reply = await reject(id, { reason });
    expect(reply.status, JSON.stringify(reply.json)).toBe(200);
    const receipt = reply.json['receipt'] as { logIndex: number };
    expect(reply.json).toMatchObject({ id, status: 'rejected', digest: proposal['digest'], approvedBy: null, activatedAt: null, rejection: { by: 'second-admin', reason, logIndex: receipt.logIndex } });
    expect(typeof reply.json['endedAt']).toBe('string');

    const [event] = (await loggedEvents(reg, 'policy.rejected')).filter((e) => e['policy'] === id);
    expect(event).toMatchObject({
      index: receipt.logIndex,
      type: 'policy.rejected',
      policy: id,
      environment: 'production',
      number: proposal['number'],
      digest: proposal['digest'],
      proposedBy: 'admin',
      reason,
      actor: { principal: 'second-admin', kind: 'user' },
    });
    expect(await historyItem(id)).toMatchObject({ status: 'rejected', rejection: { by: 'second-admin', reason, logIndex: receipt.logIndex }, endedAt: reply.json['endedAt'] });
    const pending = await api(reg, 'GET', '/api/v1/policies/proposed');
    expect((pending.json['items'] as Json[]).map((p) => p['id'])).not.toContain(id);
    expect(await activeId()).toBe(seed.policies['production']?.['id']);
  });

  it('answers 409 to approving or rejecting a rejected proposal, and to rejecting the active policy', async () => {
    const id = String((await propose())['id']);
    expect((await reject(id, { reason: 'not now' })).status).toBe(200);
    const approved = await approvePolicy(reg, id, seed.principals.approver);
    expect(approved.status).toBe(409);
    expect(approved.json['code']).toBe('CONFLICT');
    const again = await reject(id, { reason: 'twice' });
    expect(again.status).toBe(409);
    expect(again.json['code']).toBe('CONFLICT');
    const active = await reject(String(seed.policies['production']?.['id']), { reason: 'it is active' });
    expect(active.status).toBe(409);
    expect(active.json['code']).toBe('CONFLICT');
    expect(await activeId()).toBe(seed.policies['production']?.['id']);
    expect((await loggedEvents(reg, 'policy.rejected')).filter((e) => e['policy'] === id)).toHaveLength(1);
  });

  it('answers 400 to a missing, empty, blank, over-long or control-character reason and to unknown fields, and rejects nothing', async () => {
    const id = String((await propose())['id']);
    for (const body of [{}, { reason: '' }, { reason: '   \n ' }, { reason: 'x'.repeat(1001) }, { reason: 'fine', extra: true }, { reason: 'bell \u0007 here' }, { reason: 'bidi \u202e trick' }]) {
      const reply = await reject(id, body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.json['code']).toBe('VALIDATION_FAILED');
    }
    expect((await historyItem(id))?.['status']).toBe('proposed');
    // 1000 characters are enough.
    expect((await reject(id, { reason: 'y'.repeat(1000) })).status).toBe(200);
  });

  it('answers 403 to a viewer and to a policy admin of another environment, and 404 to an unknown id', async () => {
    const id = String((await propose())['id']);
    const byViewer = await reject(id, { reason: 'a viewer tries' }, viewer);
    expect(byViewer.status).toBe(403);
    const stagingAdmin = await createPrincipal(reg, 'stan', 'user', [{ role: 'policy-admin', environments: ['staging'] }]);
    const byStaging = await reject(id, { reason: 'staging only' }, stagingAdmin);
    expect(byStaging.status).toBe(403);
    expect((await historyItem(id))?.['status']).toBe('proposed');
    const unknown = await reject('pol_doesnotexist0000', { reason: 'nothing there' });
    expect(unknown.status).toBe(404);
  });

  it('lets the proposer withdraw its own proposal; the reason keeps its line breaks', async () => {
    const id = String((await propose(seed.principals.approver))['id']);
    const reply = await reject(id, { reason: '  Withdrawn:\r\nproposed by mistake  ' });
    expect(reply.status, JSON.stringify(reply.json)).toBe(200);
    expect(reply.json).toMatchObject({ status: 'rejected', proposedBy: 'second-admin', rejection: { by: 'second-admin', reason: 'Withdrawn:\nproposed by mistake' } });
  });

  it('rejects through `custody policy reject ID --reason`, as text and as --json', async () => {
    const first = String((await propose())['id']);
    const text = await cli(['policy', 'reject', first, '--reason', 'Rejected from the CLI']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^rejected policy production #\d+ sha256:[0-9a-f]{64} REJECTED$/m);
    expect(text.stdout).toContain(`id:       ${first}`);
    expect(text.stdout).toMatch(/rejected by second-admin at \S+ \(log \d+\): Rejected from the CLI/);
    expect(text.stdout).toMatch(/^logged: entry \d+ \(policy\.rejected\)$/m);

    const second = String((await propose())['id']);
    const json = expectCliOk(await cli(['--json', 'policy', 'reject', second, '--reason', 'Rejected as JSON']));
    expect(json).toMatchObject({ id: second, status: 'rejected', rejection: { by: 'second-admin', reason: 'Rejected as JSON' } });
    expect((json['receipt'] as { logIndex: number }).logIndex).toBe((json['rejection'] as { logIndex: number }).logIndex);

    const missing = await cli(['policy', 'reject', second]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('--reason');
    const conflict = await cli(['policy', 'reject', second, '--reason', 'again']);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('CONFLICT');
  });

  it('leaves `log verify --full` passing and `admin verify-store` clean; an edited rejection reason is reported', async () => {
    expect(expectCliOk(await cli(['--json', 'log', 'verify', '--full'], reg.token))).toMatchObject({ verified: true });
    await reg.registry.stop();
    const verifyStore = (): Promise<CliResult> =>
      runCli(['--json', 'admin', 'verify-store', '--data', reg.dataDir], { CUSTODY_STORAGE_METADATA: reg.metadataSpec, ...reg.blobs.serverEnv });
    const clean = await verifyStore();
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ problems: [] });

    await rawSql(reg, "update policies set rejection_reason = 'edited in the database' where status = 'rejected' and rejection_reason = 'Rejected as JSON'");
    const edited = await verifyStore();
    expect(edited.code).toBe(4);
    expect(edited.stdout).toContain('policy-mismatch');
    expect(edited.stdout).toContain('rejectionReason edited in the database (log: Rejected as JSON)');
  });
});
