/**
 * The web UI over real HTTP (issue 8 §1–3), on both metadata stores: signing in with a pasted API
 * token starts a server-side session in an HttpOnly, Secure, SameSite=Lax `__Host-` cookie; the
 * cookie is never accepted on `/api`; every page carries a strict CSP (nonce scripts only, no
 * unsafe-inline or unsafe-eval) and no-framing headers; unsafe form posts are refused cross-site
 * and without the session's CSRF token; pages apply the API's permissions; user-controlled text
 * (annotations) is escaped; and the version page's gate checklist shows exactly the evaluation
 * the JSON API returns and `custody policy eval --json` prints for the same version (verdict,
 * policy, effective and input digests, each row's result and "what is missing" sentence).
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { attestSeed, createPrincipal, pushModel, setUpSeed, type PushedVersion, type Seed } from '../support/promotion-fixtures.js';
import { BACKENDS, runCli, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { api, uploadRandomModel } from '../support/trust-fixtures.js';
import { page, signIn } from '../support/ui-session.js';

interface GateRow { readonly name: string; readonly result: string; readonly message: string }
interface GateEvaluation {
  readonly outcome: string;
  readonly policyDigest: string | null;
  readonly effectiveDigest: string;
  readonly inputDigest: string;
  readonly requirements: readonly GateRow[];
  readonly gates: readonly GateRow[];
}

/** What a reader of the gate checklist learns: verdict, digests, and each row's result and "what is missing" sentence. */
function gateFacts(e: GateEvaluation): { outcome: string; digests: (string | null)[]; rows: string[] } {
  const row = (kind: string) => (r: GateRow): string => `${kind}:${r.name}=${r.result}${r.result === 'PASS' ? '' : ` ${r.message}`}`;
  return { outcome: e.outcome, digests: [e.policyDigest, e.effectiveDigest, e.inputDigest], rows: [...e.requirements.map(row('requirement')), ...e.gates.map(row('gate'))] };
}

const unescape = (text: string): string => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** The same facts read back from the page's gate card for `environment`. */
function pageGateFacts(body: string, environment: string): { outcome: string; digests: (string | null)[]; rows: string[] } {
  const card = new RegExp(`<section class="gate-card"[^>]*data-environment="${environment}" data-outcome="([a-z]+)">([\\s\\S]*?)</section>`).exec(body);
  if (card?.[1] === undefined || card[2] === undefined) throw new Error(`no gate card for ${environment}`);
  const header = /<p class="muted">Policy ([\s\S]*?)<\/p>/.exec(card[2])?.[1] ?? '';
  const digests = [...header.matchAll(/<code class="digest" title="(sha256:[0-9a-f]{64})">/g)].map((m) => m[1] ?? '');
  const rows = [...card[2].matchAll(/<tr data-check="([^"]+)" data-result="([A-Z]+)">([\s\S]*?)<\/tr>/g)].map((m) => {
    const cells = [...(m[3] ?? '').matchAll(/<td>([\s\S]*?)<\/td>/g)].map((c) => c[1] ?? '');
    const missing = unescape((cells[2] ?? '').replace(/ <span class="muted">\([\s\S]*\)<\/span>$/, '').replace(/<[^>]*>/g, ''));
    return `${m[1] ?? ''}=${m[2] ?? ''}${m[2] === 'PASS' ? '' : ` ${missing}`}`;
  });
  return { outcome: card[1], digests: header.includes('baseline only') ? [null, ...digests] : digests, rows };
}

const XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

describe.each(BACKENDS)('the web UI on %s', (backend) => {
  let reg: TestRegistry;
  let seed: Seed;
  let version: PushedVersion;
  let annotated: string;
  /** When set, the registry's clock stands still here (so evaluations made apart share their input's `now`). */
  let frozenAt: Date | null = null;
  /** The registry's structured log. */
  const logLines: string[] = [];

  beforeAll(async () => {
    reg = await startTestRegistry(backend, {}, { now: () => frozenAt ?? new Date() }, createLogger('info', (line) => logLines.push(line)));
    seed = await setUpSeed(reg);
    version = await pushModel(reg, 'fraud/detector', seed.keys.training);
    // Staging allows once scan and sandbox pass; production also wants the red team, still pending.
    await attestSeed(reg, version, seed.keys, { redteam: 'PENDING' });
    const uploaded = await uploadRandomModel(reg);
    const registered = await api(reg, 'POST', '/api/v1/models/fraud/annotated/versions', { files: uploaded.files, annotations: { note: XSS, [XSS]: 'key' } });
    expect(registered.status, JSON.stringify(registered.json)).toBe(201);
    annotated = uploaded.digest;
  });

  afterAll(async () => {
    await reg.stop();
  });

  it('sends a visitor without a session to sign in, and refuses a bad token without a cookie', async () => {
    const models = await page(reg, '/models');
    expect(models.status).toBe(303);
    expect(models.headers.get('location')).toBe('/sign-in?next=%2Fmodels');
    const refused = await page(reg, '/sign-in', { form: { token: 'cst_not-a-real-token-000000000000000000000000', next: '/models' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect(refused.text).toContain('That token was not accepted');
    expect(refused.text).not.toContain('cst_not-a-real-token');
  });

  it('starts a session in an HttpOnly, Secure, SameSite=Lax __Host- cookie and redirects only to this server', async () => {
    const reply = await page(reg, '/sign-in', { form: { token: reg.token, next: '//evil.example/x' } });
    expect(reply.status).toBe(303);
    expect(reply.headers.get('location')).toBe('/models');
    const cookie = reply.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^__Host-custody_session=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; /);
    for (const attribute of ['Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax']) expect(cookie.split('; ')).toContain(attribute);
    expect(cookie).not.toContain(reg.token);
  });

  it('records sign-ins (accepted and refused), sign-outs and audit exports in the server log, never the token or cookie', async () => {
    const from = logLines.length;
    const uiAudit = (): Record<string, unknown>[] =>
      logLines.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e['msg'] === 'ui audit');
    expect((await page(reg, '/sign-in', { form: { token: 'cst_wrong-token-0000000000000000000000000000', next: '/models' } })).status).toBe(401);
    const { cookie, csrf } = await signIn(reg, reg.token);
    const exported = await page(reg, '/audit/export?format=jsonl&type=version.registered', { cookie });
    expect(exported.status).toBe(200);
    const exportedRows = exported.text.trimEnd().split('\n').length;
    expect((await page(reg, '/sign-out', { cookie, form: { csrf } })).status).toBe(303);
    const events = uiAudit();
    expect(events.map((e) => e['action'])).toEqual(['session.refused', 'session.started', 'audit.exported', 'session.ended']);
    expect(events[1]).toMatchObject({ principal: 'admin', via: 'token', path: '/sign-in' });
    expect(events[2]).toMatchObject({ principal: 'admin', format: 'jsonl', rows: exportedRows, filter: 'format=jsonl&type=version.registered' });
    expect(events[3]).toMatchObject({ principal: 'admin', session: events[1]?.['session'] });
    const text = logLines.slice(from).join('');
    const cookieValue = cookie.split('=')[1] ?? '';
    for (const secret of [reg.token, 'cst_wrong-token', cookieValue, cookieValue.split('.')[1] ?? '', csrf]) expect(secret.length > 8 && text.includes(secret), 'a secret in the log').toBe(false);
  });

  it('serves every page with a strict CSP and no-framing headers', async () => {
    const { cookie } = await signIn(reg, reg.token);
    for (const path of ['/sign-in', '/models', '/models/fraud/detector', `/models/fraud/detector/versions/${version.digest}`]) {
      const reply = await page(reg, path, { cookie });
      expect(reply.status, path).toBe(200);
      const csp = reply.headers.get('content-security-policy') ?? '';
      expect(csp, path).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
      expect(reply.headers.get('x-frame-options')).toBe('DENY');
      expect(reply.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(reply.text).not.toMatch(/<script(?![^>]*nonce=)/);
    }
  });

  it('never accepts the session cookie on the API', async () => {
    const { cookie } = await signIn(reg, reg.token);
    for (const path of ['/api/v1/models', '/api/v1/whoami']) {
      const reply = await page(reg, path, { cookie });
      expect(reply.status, path).toBe(401);
      expect(reply.headers.get('content-type')).toBe('application/problem+json');
    }
  });

  it('refuses a sign-out posted cross-site or without the CSRF token, and signs out with it', async () => {
    const { cookie, csrf } = await signIn(reg, reg.token);
    const crossSite = await page(reg, '/sign-out', { cookie, form: { csrf }, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    const foreignOrigin = await page(reg, '/sign-out', { cookie, form: { csrf }, headers: { origin: 'https://evil.example' } });
    expect(foreignOrigin.status).toBe(403);
    const noToken = await page(reg, '/sign-out', { cookie, form: {}, headers: {} });
    expect(noToken.status).toBe(403);
    const wrongToken = await page(reg, '/sign-out', { cookie, form: { csrf: `${csrf.slice(0, -2)}AA` }, headers: {} });
    expect(wrongToken.status).toBe(403);
    expect((await page(reg, '/models', { cookie })).status).toBe(200);

    const out = await page(reg, '/sign-out', { cookie, form: { csrf }, headers: { origin: reg.url, 'sec-fetch-site': 'same-origin' } });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^__Host-custody_session=; .*Max-Age=0/);
    expect((await page(reg, '/models', { cookie })).status).toBe(303);
  });

  it('applies the API permissions to pages: a reader of another namespace sees neither the model nor its version', async () => {
    const token = await createPrincipal(reg, `vera-${backend}`, 'user', [{ role: 'viewer', namespaces: ['other'] }]);
    const { cookie } = await signIn(reg, token);
    const list = await page(reg, '/models', { cookie });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain('fraud/detector');
    expect((await page(reg, '/models/fraud/detector', { cookie })).status).toBe(403);
    const versionPage = await page(reg, `/models/fraud/detector/versions/${version.digest}`, { cookie });
    expect(versionPage.status).toBe(403);
    expect(versionPage.text).toContain('FORBIDDEN');
  });

  it('escapes annotations, which are shown marked unverified', async () => {
    const { cookie } = await signIn(reg, reg.token);
    const reply = await page(reg, `/models/fraud/annotated/versions/${annotated}`, { cookie });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.text).not.toContain('<script>window.__pwned');
    expect(reply.text).not.toContain('<img src=x');
    expect(reply.text).toContain('&lt;script&gt;window.__pwned = 1&lt;/script&gt;');
    expect(reply.text).toMatch(/Annotations <span class="muted">\(unverified\)<\/span>/);
  });

  it('shows on the version page exactly the gate results the evaluation API and `custody policy eval` return', async () => {
    const { cookie } = await signIn(reg, reg.token);
    frozenAt = new Date();
    const reply = await page(reg, `/models/fraud/detector/versions/${version.digest}`, { cookie });
    expect(reply.status).toBe(200);
    const cliEnv = { CUSTODY_SERVER: reg.url, CUSTODY_TOKEN: reg.token, XDG_CONFIG_HOME: path.join(tmpdir(), `custody-ui-gates-${backend}`) };
    for (const environment of ['staging', 'production']) {
      const evaluation = await api(reg, 'GET', `/api/v1/models/fraud/detector/environments/${environment}/evaluation?version=${version.digest}`);
      expect(evaluation.status).toBe(200);
      const fromApi = evaluation.json['evaluation'] as GateEvaluation;
      const cli = await runCli(['--json', 'policy', 'eval', `fraud/detector@${version.digest}`, '--env', environment], cliEnv);
      expect(cli.code, cli.stderr).toBe(fromApi.outcome === 'allow' ? 0 : 3);
      const fromCli = (JSON.parse(cli.stdout) as { evaluation: GateEvaluation }).evaluation;
      // The CLI and the API print one evaluation: same verdict, digests, rows, results and sentences.
      expect(gateFacts(fromCli)).toEqual(gateFacts(fromApi));
      expect(pageGateFacts(reply.text, environment)).toEqual(gateFacts(fromApi));
    }
    frozenAt = null;
    // The red team is pending: production is blocked, and the page says why.
    expect(reply.text).toMatch(/data-environment="production" data-outcome="deny"/);
    expect(reply.text).toContain('Blocked (');
  });
});
