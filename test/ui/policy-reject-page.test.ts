/**
 * The policy page's Reject form over real HTTP, on both metadata stores (issue 8 §1,
 * reference/ui-screens.md §2.4 "Approve and Reject forms with a required reason"): a second policy
 * admin sees a reject form beside approve, with a required reason and the CSRF field; rejecting
 * goes through the same `PolicyService.reject` as the API (which then shows it rejected) and the
 * history shows it REJECTED with the reason (escaped), who and the log index; a missing or blank
 * reason re-renders the page with a 400 message and rejects nothing; a viewer sees no form and its
 * forced post is refused 403; the proposer sees no approve form but may withdraw; a post without
 * the CSRF token, with a stale sign-in, or for a proposal no longer pending is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrincipal, loggedEvents, proposeProduction, type Seed, setUpSeed, withFirstGateMessage } from '../support/promotion-fixtures.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { api } from '../support/trust-fixtures.js';
import { page, signIn } from '../support/ui-session.js';

const MINUTE_MS = 60_000;
const RECENT_AUTH_MINUTES = 5;

const rejectPath = (id: string): string => `/policy/production/proposals/${id}/reject`;
const approvePath = (id: string): string => `/policy/production/proposals/${id}/approve`;

/** The markup of one pending proposal's card on the policy page. */
function proposalCard(text: string, id: string): string {
  const start = text.indexOf(`<div class="gate-card" id="proposal-${id}">`);
  expect(start, `proposal ${id} on the page`).toBeGreaterThanOrEqual(0);
  return text.slice(start, text.indexOf('</div>', start));
}

describe.each(BACKENDS)('the policy page\'s reject form on %s', (backend) => {
  let reg: TestRegistry;
  let seed: Seed;
  let viewer: string;
  let offsetMs = 0;
  let proposals = 0;

  beforeAll(async () => {
    reg = await startTestRegistry(backend, { ui: { recentAuthMinutes: RECENT_AUTH_MINUTES } }, { now: () => new Date(Date.now() + offsetMs) });
    seed = await setUpSeed(reg, ['production']);
    viewer = await createPrincipal(reg, `vic-${backend}`, 'user', [{ role: 'viewer' }]);
  });

  afterAll(async () => {
    await reg.stop();
  });

  async function propose(token = reg.token): Promise<{ id: string; number: number }> {
    const proposal = await proposeProduction(reg, withFirstGateMessage(`Proposal ${++proposals} on ${backend}`), token);
    return { id: String(proposal['id']), number: Number(proposal['number']) };
  }

  async function record(id: string): Promise<Record<string, unknown> | undefined> {
    const history = await api(reg, 'GET', '/api/v1/environments/production/policy/history');
    return (history.json['items'] as Record<string, unknown>[]).find((p) => p['id'] === id);
  }

  it('shows a second policy admin a reject form with a required reason; rejecting shows the proposal REJECTED with the reason, who and the log index', async () => {
    const { id, number } = await propose();
    const { cookie, csrf } = await signIn(reg, seed.principals.approver, '/policy');
    const card = proposalCard((await page(reg, '/policy', { cookie })).text, id);
    expect(card).toContain(`action="${approvePath(id)}"`);
    const form = card.slice(card.indexOf(`<form method="post" action="${rejectPath(id)}"`));
    expect(form).toMatch(/^<form method="post" action="[^"]+" class="stack"><input type="hidden" name="csrf" value="[^"]+">/);
    expect(form).toContain(`<textarea id="proposal-${id}-reason" name="reason" required maxlength="1000" rows="3"></textarea>`);
    expect(form).toContain(`<label for="proposal-${id}-reason">`);
    expect(form).toContain(`Reject policy #${number} for production</button>`);

    const reason = 'Needs <script>alert("review")</script> & a second look';
    const rejected = await page(reg, rejectPath(id), { cookie, form: { csrf, reason } });
    expect(rejected.status, rejected.text).toBe(303);
    expect(rejected.headers.get('location')).toBe(`/policy?rejected=${id}#policy-production-${number}`);
    const stored = await record(id);
    expect(stored).toMatchObject({ status: 'rejected', rejection: { by: 'second-admin', reason } });
    const logIndex = (stored?.['rejection'] as { logIndex: number }).logIndex;
    const [event] = (await loggedEvents(reg, 'policy.rejected')).filter((e) => e['policy'] === id);
    expect(event).toMatchObject({ index: logIndex, reason, actor: { principal: 'second-admin', kind: 'user' } });

    const after = await page(reg, `/policy?rejected=${id}`, { cookie });
    expect(after.text).toContain(`<p role="status" class="badge">Rejected: production policy #${number} will not become active (log index ${logIndex}).</p>`);
    expect(after.text).not.toContain(`id="proposal-${id}"`);
    const rowStart = after.text.indexOf(`<tr id="policy-production-${number}">`);
    expect(rowStart).toBeGreaterThanOrEqual(0);
    const row = after.text.slice(rowStart, after.text.indexOf('</tr>', rowStart));
    expect(row).toContain('<span aria-hidden="true">✗</span> REJECTED</span>');
    expect(row).toContain(`by <strong>second-admin</strong>`);
    expect(row).toContain(`log index ${logIndex}`);
    expect(row).toContain('Reason: <q>Needs &lt;script&gt;alert(&quot;review&quot;)&lt;/script&gt; &amp; a second look</q>');
    expect(after.text).not.toContain('<script>alert(');
  });

  it('re-renders the page with a 400 message for a missing or blank reason, and rejects nothing', async () => {
    const { id } = await propose();
    const { cookie, csrf } = await signIn(reg, seed.principals.approver, '/policy');
    for (const form of [{ csrf }, { csrf, reason: '  \r\n ' }]) {
      const refused = await page(reg, rejectPath(id), { cookie, form });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('<h1>Policy</h1>');
      expect(refused.text).toContain('<p role="alert" class="badge"><span aria-hidden="true">✗</span> Not rejected: a rejection needs a reason.</p>');
      // The page is there again, with the proposal still pending and its forms.
      expect(proposalCard(refused.text, id)).toContain(`action="${rejectPath(id)}"`);
    }
    const tooLong = await page(reg, rejectPath(id), { cookie, form: { csrf, reason: 'z'.repeat(1001) } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain('Not rejected: a rejection reason has at most 1000 characters.');
    expect((await record(id))?.['status']).toBe('proposed');
  });

  it('shows a viewer no reject form and answers its forced post with 403', async () => {
    const { id } = await propose();
    const { cookie, csrf } = await signIn(reg, viewer, '/policy');
    const card = proposalCard((await page(reg, '/policy', { cookie })).text, id);
    expect(card).not.toContain('<form');
    expect(card).not.toContain('<textarea');
    expect(card).toContain('Rejecting needs the same.');
    const forced = await page(reg, rejectPath(id), { cookie, form: { csrf, reason: 'a viewer tries' } });
    expect(forced.status).toBe(403);
    expect(forced.text).toContain('policy:approve');
    expect((await record(id))?.['status']).toBe('proposed');
  });

  it('shows the proposer no approve form but a withdraw form, which rejects its own proposal', async () => {
    const { id, number } = await propose(seed.principals.approver);
    const { cookie, csrf } = await signIn(reg, seed.principals.approver, '/policy');
    const card = proposalCard((await page(reg, '/policy', { cookie })).text, id);
    expect(card).not.toContain(`action="${approvePath(id)}"`);
    expect(card).toContain(`action="${rejectPath(id)}"`);
    expect(card).toContain(`Withdraw policy #${number} for production</button>`);
    const withdrawn = await page(reg, rejectPath(id), { cookie, form: { csrf, reason: 'Proposed by mistake' } });
    expect(withdrawn.status, withdrawn.text).toBe(303);
    expect(await record(id)).toMatchObject({ status: 'rejected', proposedBy: 'second-admin', rejection: { by: 'second-admin', reason: 'Proposed by mistake' } });
  });

  it('refuses a post without the CSRF token, one under another environment, and one for a proposal no longer pending', async () => {
    const { id } = await propose();
    const { cookie, csrf } = await signIn(reg, reg.token, '/policy');
    const noCsrf = await page(reg, rejectPath(id), { cookie, form: { reason: 'no token' } });
    expect(noCsrf.status).toBe(403);
    const elsewhere = await page(reg, `/policy/staging/proposals/${id}/reject`, { cookie, form: { csrf, reason: 'wrong place' } });
    expect(elsewhere.status).toBe(404);
    expect((await record(id))?.['status']).toBe('proposed');
    expect((await page(reg, rejectPath(id), { cookie, form: { csrf, reason: 'first' } })).status).toBe(303);
    const again = await page(reg, rejectPath(id), { cookie, form: { csrf, reason: 'second' } });
    expect(again.status).toBe(409);
    expect((await record(id))?.['rejection']).toMatchObject({ reason: 'first' });
  });

  it('refuses a rejection whose sign-in is older than ui.recentAuthMinutes, until the principal signs in again', async () => {
    const { id } = await propose();
    const stale = await signIn(reg, seed.principals.approver, '/policy');
    offsetMs += (RECENT_AUTH_MINUTES + 1) * MINUTE_MS;
    const refused = await page(reg, rejectPath(id), { cookie: stale.cookie, form: { csrf: stale.csrf, reason: 'stale' } });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('this action needs a recent sign-in');
    expect((await record(id))?.['status']).toBe('proposed');
    const fresh = await signIn(reg, seed.principals.approver, '/policy');
    const rejected = await page(reg, rejectPath(id), { cookie: fresh.cookie, form: { csrf: fresh.csrf, reason: 'fresh' } });
    expect(rejected.status, rejected.text).toBe(303);
  });
});
