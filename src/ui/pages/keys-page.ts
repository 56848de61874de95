/**
 * The keys page (reference/ui-screens.md §2.5): the trusted signer keys with their scope, status,
 * attestations signed and last use, rendered from `KeyService.listWithUsage` as `GET
 * /api/v1/keys` is (same permission, same namespace-scoped counts), each linking to its detail
 * page (`key-detail-page.ts`), and the
 * revocation flow: a confirmation page that first lists the placements the revocation would
 * quarantine — `PromotionService.previewRevocation`, the same evaluation the revocation's own
 * transaction runs, without writing — then a form (reason required, recent sign-in required)
 * that revokes through `KeyService.revoke` exactly as `POST /api/v1/keys/{name}/revoke`.
 */
import { CustodyError } from '../../domain/errors.js';
import type { KeyWithUsage } from '../../service/key-service.js';
import { parseInstant } from '../../service/request-fields.js';
import type { SignerKeyRecord } from '../../store/metadata-store.js';
import { digestCode } from '../digest-code.js';
import { html, pathSegment, type Html } from '../html.js';
import { csrfField } from '../layout.js';
import { definePage, requireSignedIn, type PageDef } from '../page.js';
import { statusPill } from '../status-pill.js';

const KEY_MANAGE = { permission: 'key:manage', scope: 'global' } as const;

function revokeHref(key: SignerKeyRecord): string {
  return `/keys/${pathSegment(key.name)}/revoke`;
}

/** An instant as a `<time>` element, drawn to the second in UTC. */
export function when(instant: string): Html {
  return html`<time datetime="${instant}">${instant.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

/**
 * An instant from a form: a `datetime-local` value (read as UTC) or RFC 3339 with a zone;
 * empty means none. Anything else is VALIDATION_FAILED naming `field`.
 */
export function formInstant(value: string | null, field: string): string | null {
  const text = (value ?? '').trim();
  if (text === '') return null;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(text)) return parseInstant(`${text}:00Z`, field);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?$/.test(text)) return parseInstant(`${text}Z`, field);
  return parseInstant(text.slice(0, 40), field);
}

/** Status as text and icon: active, not yet valid, expired, or revoked (with when, by whom and why). */
export function keyStatus(key: SignerKeyRecord, now: string): Html {
  const r = key.revocation;
  if (r !== null) {
    return html`${statusPill('REVOKED', `Revoked at ${r.revokedAt}`)}
<br><span class="muted">at ${when(r.revokedAt)} by ${r.revokedBy} (log index ${r.logIndex})</span>
<br>Reason: ${r.reason}
<br><span class="muted">invalid for attestations logged from ${when(r.compromisedSince ?? r.revokedAt)}</span>`;
  }
  if (key.notAfter !== null && key.notAfter <= now) return html`${statusPill('EXPIRED', `Expired at ${key.notAfter}`)}<br><span class="muted">since ${when(key.notAfter)}</span>`;
  if (key.notBefore !== null && key.notBefore > now) return html`${statusPill('PENDING', `Not valid before ${key.notBefore}`)}<br><span class="muted">valid from ${when(key.notBefore)}</span>`;
  return html`<span class="pill pill-pass" role="img" aria-label="Active"><span aria-hidden="true">✓</span> ACTIVE</span>`;
}

/** What the key may sign: its predicate types, namespaces and validity window. */
export function keyScope(key: SignerKeyRecord): Html {
  const window = key.notBefore === null && key.notAfter === null ? '' : html`<br><span class="muted">valid ${key.notBefore === null ? 'from registration' : html`from ${when(key.notBefore)}`} ${key.notAfter === null ? '' : html`until ${when(key.notAfter)}`}</span>`;
  return html`<ul>${key.predicateTypes.map((t) => html`<li><code>${t}</code></li>`)}</ul>
${key.namespaces === null ? html`<span class="muted">every namespace</span>` : html`namespaces: ${key.namespaces.map((n, i) => html`${i === 0 ? '' : ', '}<code>${n}</code>`)}`}${window}`;
}

/** The key's own page (`key-detail-page.ts`). */
export function keyHref(key: SignerKeyRecord): string {
  return `/keys/${pathSegment(key.name)}`;
}

function keyRow({ key, attestationCount, lastSignedAt }: KeyWithUsage, now: string, canRevoke: boolean): Html {
  return html`<tr>
<th scope="row"><a href="${keyHref(key)}">${key.name}</a><br>${digestCode(`sha256:${key.keyId}`)}</th>
<td>${key.algorithm}</td>
<td>${keyScope(key)}</td>
<td>${keyStatus(key, now)}</td>
<td>${attestationCount}</td>
<td>${lastSignedAt === null ? html`<span class="muted">never</span>` : when(lastSignedAt)}</td>
<td>${when(key.addedAt)}<br><span class="muted">by ${key.addedBy} (log index ${key.addedLogIndex})</span></td>
${canRevoke ? html`<td>${key.revocation === null ? html`<a href="${revokeHref(key)}">Revoke ${key.name}…</a>` : html`<span class="muted">—</span>`}</td>` : ''}
</tr>`;
}

/** The revocation form's current choice, echoed back into links and hidden fields. */
function sinceQuery(compromisedSince: string | null): string {
  return compromisedSince === null ? '' : `?${new URLSearchParams({ compromisedSince }).toString()}`;
}

export const keysPages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/keys',
    access: { permission: 'model:read', scope: 'any' },
    handle: async (ctx) => {
      const { actor } = requireSignedIn(ctx);
      const { services } = ctx;
      // Counted over the namespaces the reader may read, as GET /api/v1/keys counts them.
      const keys = await services.keys.listWithUsage(services.auth.namespacesWith(actor, 'model:read'));
      const now = new Date().toISOString();
      const canRevoke = services.auth.holds(actor, 'key:manage', {});
      const revokedName = ctx.url.searchParams.get('revoked');
      const revoked = revokedName === null ? undefined : keys.find(({ key }) => key.name === revokedName && key.revocation !== null)?.key;
      const notice = revoked === undefined ? '' : html`<p class="notice" role="status">Key <strong>${revoked.name}</strong> is revoked. Versions that no longer pass their environment's policy were quarantined (see the <a href="/audit?type=version.quarantined">audit feed</a>).</p>`;
      const table = html`<table>
<caption class="muted">Trusted signer keys, revoked ones included</caption>
<thead><tr><th scope="col">Key</th><th scope="col">Algorithm</th><th scope="col">Scope</th><th scope="col">Status</th><th scope="col">Attestations signed</th><th scope="col">Last used</th><th scope="col">Added</th>${canRevoke ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>
${keys.map((entry) => keyRow(entry, now, canRevoke))}
</tbody>
</table>`;
      const body = html`<h1>Signer keys</h1>
${notice}
${keys.length === 0 ? html`<div class="empty"><p><strong>No signer keys yet.</strong> A key admin registers one with the CLI:</p><pre><code>custody key add --name ci-signer --public-key ci.pub --predicate-type https://slsa.dev/provenance/v1</code></pre></div>` : table}`;
      return { kind: 'page', title: 'Signer keys', body };
    },
  }),
  definePage({
    method: 'GET',
    path: '/keys/{name}/revoke',
    access: KEY_MANAGE,
    handle: async (ctx) => {
      const signedIn = requireSignedIn(ctx);
      const { services } = ctx;
      const key = await services.keys.get(ctx.params['name'] ?? '');
      const title = `Revoke key ${key.name}`;
      if (key.revocation !== null) {
        return { kind: 'page', title, body: html`<h1>${title}</h1><p>${statusPill('REVOKED')} This key was already revoked at ${when(key.revocation.revokedAt)}: ${key.revocation.reason}</p><p><a href="/keys">Back to the keys</a></p>` };
      }
      const compromisedSince = formInstant(ctx.url.searchParams.get('compromisedSince'), 'compromisedSince');
      if (compromisedSince !== null && compromisedSince > new Date().toISOString()) throw new CustodyError('VALIDATION_FAILED', 'compromisedSince cannot be in the future', { details: { field: 'compromisedSince' } });
      const impact = await services.promotions.previewRevocation(signedIn.actor, key, compromisedSince);
      const invalidFrom = compromisedSince === null ? 'the moment of revocation' : compromisedSince;
      const preview = html`<section aria-labelledby="impact">
<h2 id="impact">What this revocation would quarantine</h2>
<p>Attestations by <strong>${key.name}</strong> logged from ${invalidFrom} on become invalid. Each environment's current version that then fails its policy is quarantined there:</p>
${impact.length === 0
  ? html`<p class="empty">${statusPill('PASS', 'Nothing would be quarantined')} No version would be quarantined.${compromisedSince === null ? ' Without a compromise time, attestations already logged stay valid.' : ''}</p>`
  : html`<table>
<caption class="muted">${impact.length} placement${impact.length === 1 ? '' : 's'} would be quarantined</caption>
<thead><tr><th scope="col">Model</th><th scope="col">Version</th><th scope="col">Environment</th><th scope="col">Why it would fail</th></tr></thead>
<tbody>${impact.map(
  ({ alias, version, failures }) => html`<tr>
<th scope="row"><a href="/models/${pathSegment(alias.namespace)}/${pathSegment(alias.name)}">${alias.namespace}/${alias.name}</a></th>
<td><a href="/models/${pathSegment(alias.namespace)}/${pathSegment(alias.name)}/versions/${pathSegment(version.digest)}">v${version.number}</a> ${digestCode(version.digest)}</td>
<td>${alias.environment}</td>
<td><ul>${failures.map((f) => html`<li>${f}</li>`)}</ul></td>
</tr>`,
)}</tbody>
</table>`}
</section>`;
      const recent = services.sessions.isRecent(signedIn.session);
      const body = html`<h1>${title}</h1>
<p><a href="/keys">Back to the keys</a></p>
<dl class="facts"><dt>Key id</dt><dd>${digestCode(`sha256:${key.keyId}`)}</dd><dt>Algorithm</dt><dd>${key.algorithm}</dd><dt>Added</dt><dd>${when(key.addedAt)} by ${key.addedBy}</dd></dl>
<form class="filters" method="get" action="${revokeHref(key)}">
  <label>Compromised since (UTC, optional) <input type="datetime-local" step="1" name="compromisedSince" value="${compromisedSince === null ? '' : compromisedSince.slice(0, 19)}"></label>
  <button type="submit">Preview</button>
</form>
${preview}
<section aria-labelledby="confirm">
<h2 id="confirm">Confirm the revocation</h2>
${recent ? '' : html`<p class="error" role="alert">Revoking needs a recent sign-in. <a href="/sign-in?next=${encodeURIComponent(revokeHref(key) + sinceQuery(compromisedSince))}">Sign in again</a> first.</p>`}
<form class="stack" method="post" action="${revokeHref(key)}">
  ${csrfField(signedIn)}
  <input type="hidden" name="compromisedSince" value="${compromisedSince ?? ''}">
  <label for="reason">Reason (required, logged)</label>
  <textarea id="reason" name="reason" required maxlength="1000" rows="3"></textarea>
  <button type="submit">Revoke ${key.name}${impact.length === 0 ? '' : ` and quarantine ${impact.length}`}</button>
</form>
</section>`;
      return { kind: 'page', title, body };
    },
  }),
  definePage({
    method: 'POST',
    path: '/keys/{name}/revoke',
    access: KEY_MANAGE,
    recentAuth: true,
    handle: async (ctx) => {
      const { actor } = requireSignedIn(ctx);
      const name = ctx.params['name'] ?? '';
      const compromisedSince = formInstant(ctx.form.get('compromisedSince'), 'compromisedSince');
      const { key } = await ctx.services.keys.revoke(actor, name, { reason: ctx.form.get('reason') ?? '', compromisedSince });
      return { kind: 'redirect', location: `/keys?${new URLSearchParams({ revoked: key.name }).toString()}` };
    },
  }),
];
