/**
 * A signer key's own page (reference/ui-screens.md §2.5 "Key detail"): its public key PEM
 * (copyable), algorithm, who added it, scope (predicate types, namespaces, validity window),
 * status with the revocation's time and reason, and "signed by this key" — the attestations it
 * signed, newest first, cursor-paginated. Same permission as `GET /api/v1/keys/{name}`; a
 * namespace-scoped reader sees only attestations on versions in namespaces it may read, and the
 * count is the one the keys page and `GET /api/v1/keys` show it.
 */
import { CustodyError } from '../../domain/errors.js';
import type { KeyAttestation, SignerKeyRecord } from '../../store/metadata-store.js';
import { digestCode } from '../digest-code.js';
import { html, pathSegment, type Html } from '../html.js';
import { definePage, requireSignedIn, type PageDef } from '../page.js';
import { LOG_EXPLORER_PATH } from './log-page.js';
import { keyHref, keyScope, keyStatus, when } from './keys-page.js';

/** Attestations per page unless the `limit` query parameter asks for another size. */
export const KEY_ATTESTATIONS_PAGE_SIZE = 25;
/** The largest `limit` a page may ask for. */
export const MAX_KEY_ATTESTATIONS_PAGE_SIZE = 100;

/** The `limit` query parameter: absent → the default, else an integer from 1 to the maximum. */
function pageSize(url: URL): number {
  const raw = url.searchParams.get('limit');
  if (raw === null || raw === '') return KEY_ATTESTATIONS_PAGE_SIZE;
  const limit = /^[0-9]{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!(limit >= 1 && limit <= MAX_KEY_ATTESTATIONS_PAGE_SIZE)) {
    throw new CustodyError('VALIDATION_FAILED', `limit must be an integer from 1 to ${MAX_KEY_ATTESTATIONS_PAGE_SIZE}`, { details: { field: 'limit' } });
  }
  return limit;
}

function versionHref(a: KeyAttestation): string {
  return `/models/${pathSegment(a.namespace)}/${pathSegment(a.name)}/versions/${pathSegment(a.versionDigest)}`;
}

function attestationRow(a: KeyAttestation): Html {
  return html`<tr>
<th scope="row"><a href="${versionHref(a)}">${a.namespace}/${a.name} v${a.versionNumber}</a><br>${digestCode(a.versionDigest)}</th>
<td><code>${a.predicateType}</code>${a.role === 'attestation' ? '' : html`<br><span class="muted">${a.role}</span>`}</td>
<td><a href="${LOG_EXPLORER_PATH}?before=${a.logIndex + 1}">${a.logIndex}</a></td>
<td>${when(a.loggedAt)}<br><span class="muted">by ${a.addedBy}</span></td>
</tr>`;
}

function facts(key: SignerKeyRecord, now: string): Html {
  return html`<dl class="facts">
<dt>Key id</dt><dd>${digestCode(`sha256:${key.keyId}`)}</dd>
<dt>OMS hint</dt><dd>${digestCode(key.omsHint)}</dd>
<dt>Algorithm</dt><dd>${key.algorithm}</dd>
<dt>Added</dt><dd>${when(key.addedAt)} by ${key.addedBy} (log index ${key.addedLogIndex})</dd>
<dt>Scope</dt><dd>${keyScope(key)}</dd>
<dt>Status</dt><dd>${keyStatus(key, now)}</dd>
</dl>`;
}

export const keyDetailPages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/keys/{name}',
    access: { permission: 'model:read', scope: 'any' },
    handle: async (ctx) => {
      const { actor } = requireSignedIn(ctx);
      const { services, url } = ctx;
      const key = await services.keys.get(ctx.params['name'] ?? '');
      const limit = pageSize(url);
      const cursor = url.searchParams.get('cursor') ?? '';
      const namespaces = services.auth.namespacesWith(actor, 'model:read');
      const [page, usage] = await Promise.all([
        services.keys.signedBy(key, { limit, namespaces, ...(cursor === '' ? {} : { cursor }) }),
        services.keys.usageOf(key, namespaces),
      ]);
      const sizeQuery = url.searchParams.has('limit') ? { limit: String(limit) } : {};
      const next =
        page.nextCursor === null ? '' : html`<a href="${keyHref(key)}?${new URLSearchParams({ ...sizeQuery, cursor: page.nextCursor }).toString()}">Older attestations</a>`;
      const first = cursor === '' ? '' : html`<a href="${keyHref(key)}${url.searchParams.has('limit') ? `?${new URLSearchParams(sizeQuery).toString()}` : ''}">Newest attestations</a>`;
      const scoped = namespaces === null ? '' : html` on versions in namespaces you may read`;
      const list =
        page.items.length === 0
          ? html`<p class="empty">${cursor === '' ? html`This key has signed no attestation${scoped} yet.` : 'No older attestations.'}</p>`
          : html`<table>
<caption class="muted">${usage.attestationCount} attestation${usage.attestationCount === 1 ? '' : 's'} signed${scoped}, newest first</caption>
<thead><tr><th scope="col">Version</th><th scope="col">Predicate type</th><th scope="col">Log index</th><th scope="col">Logged</th></tr></thead>
<tbody>
${page.items.map(attestationRow)}
</tbody>
</table>`;
      const body = html`<h1>Key ${key.name}</h1>
<p><a href="/keys">Back to the keys</a></p>
${facts(key, new Date().toISOString())}
<section aria-labelledby="public-key">
<h2 id="public-key">Public key</h2>
<pre><code>${key.publicKeyPem}</code></pre>
</section>
<section aria-labelledby="signed">
<h2 id="signed">Signed by this key</h2>
<p>${usage.attestationCount} attestation${usage.attestationCount === 1 ? '' : 's'}${scoped}; last used ${usage.lastSignedAt === null ? 'never' : when(usage.lastSignedAt)}.</p>
${list}
${next === '' && first === '' ? '' : html`<p>${first}${first !== '' && next !== '' ? ' · ' : ''}${next}</p>`}
</section>`;
      return { kind: 'page', title: `Key ${key.name}`, body };
    },
  }),
];
