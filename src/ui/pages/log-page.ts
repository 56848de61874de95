/**
 * The transparency-log explorer (reference/ui-screens.md §2.6, issue 8): the latest signed
 * checkpoint (origin, size, root, signature lines), a page of entries by index, newest first,
 * and "Verify in browser" on each entry — the island `ui/islands/verify-log.ts`, loaded by nonce
 * from `/ui/assets/verify-log.js`, checks the checkpoint's Ed25519 signature against the pinned
 * log key with WebCrypto, recomputes the leaf hash and the inclusion proof's node hashes, and
 * checks consistency with the last checkpoint this browser saw. Everything comes from the
 * `TransparencyLog` service behind the API's log routes, with the same permission (`model:read`
 * at any scope, as `log-routes.ts` asks when `log.publicReads` is off).
 *
 * Where the island reads: with `log.publicReads` on (the default) it fetches the public API
 * exactly as any other client (`/log/checkpoint`, the C2SP tiles `/log/tile/…` for the entry
 * itself, `/api/v1/log/proof/…`). With it off those need a bearer token the browser does not have
 * (and the API never reads cookies), so this file also serves the same bytes under the session at
 * `/log/explorer/data/…`, from the same service calls and the same permission.
 */
import { CustodyError } from '../../domain/errors.js';
import type { LogEntryRecord } from '../../store/metadata-store.js';
import { digestCode } from '../digest-code.js';
import { html, type Html } from '../html.js';
import { definePage, type PageContext, type PageDef, type PageResult } from '../page.js';

/** Entries per page. */
export const LOG_PAGE_SIZE = 25;
/** Where the page is: `/log/checkpoint` and `/log/tile/…` are the C2SP API's. */
export const LOG_EXPLORER_PATH = '/log/explorer';
const DATA_PATH = `${LOG_EXPLORER_PATH}/data`;

/** A subject part drawn as a digest (shortened, copied whole). */
const DIGEST = /^([a-z0-9]+:)?[0-9a-f]{64}$/;

const logAccess = { permission: 'model:read', scope: 'any' } as const;

/** A non-negative safe integer from a query parameter, or undefined when absent. */
function countParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^[0-9]{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new CustodyError('VALIDATION_FAILED', `${name} must be a non-negative integer`);
  return Number(raw);
}

/** What an entry is about and who caused it, read defensively from its leaf. */
function describe(entry: LogEntryRecord): { subject: readonly string[]; actor: string } {
  let event: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(entry.leaf);
    if (typeof parsed === 'object' && parsed !== null) event = parsed as Record<string, unknown>;
  } catch {
    return { subject: ['unreadable leaf'], actor: '' };
  }
  const text = (key: string): string | undefined => (typeof event[key] === 'string' ? event[key] : undefined);
  const parts = [text('model'), text('digest') ?? text('subjectDigest'), text('environment'), text('keyId'), text('principal'), text('tokenId'), text('policyId')].filter(
    (part): part is string => part !== undefined,
  );
  const actor = event['actor'];
  const actorName = typeof actor === 'object' && actor !== null && typeof (actor as Record<string, unknown>)['principal'] === 'string' ? String((actor as Record<string, unknown>)['principal']) : '';
  return { subject: parts, actor: actorName };
}

/** The URLs the island fetches: the public API when the log is public, else the session's copies. */
function sources(publicReads: boolean): Record<string, string> {
  return publicReads
    ? { checkpoint: '/log/checkpoint', tiles: '/log/', inclusion: '/api/v1/log/proof/inclusion', consistency: '/api/v1/log/proof/consistency' }
    : { checkpoint: `${DATA_PATH}/checkpoint`, tiles: `${DATA_PATH}/`, inclusion: `${DATA_PATH}/proof/inclusion`, consistency: `${DATA_PATH}/proof/consistency` };
}

function entryRow(entry: LogEntryRecord): Html {
  const { subject, actor } = describe(entry);
  return html`<tr>
<th scope="row">${entry.index}</th>
<td><code>${entry.type}</code></td>
<td>${subject.length === 0 ? html`<span class="muted">—</span>` : subject.map((part, i) => html`${i === 0 ? '' : ' · '}${DIGEST.test(part) ? digestCode(part) : part}`)}</td>
<td>${actor === '' ? html`<span class="muted">—</span>` : actor}</td>
<td><time datetime="${entry.time}">${entry.time.slice(0, 19).replace('T', ' ')} UTC</time></td>
<td>${digestCode(entry.leafHash)}</td>
<td><button type="button" data-verify-index="${entry.index}" data-leaf-hash="${entry.leafHash}" disabled>Verify<span class="visually-hidden"> entry ${entry.index} in the browser</span></button></td>
</tr>`;
}

async function explorer(ctx: PageContext): Promise<PageResult> {
  const { services, url, nonce } = ctx;
  const log = services.log;
  const checkpoint = await log.latestCheckpoint();
  const before = Math.min(countParam(url, 'before') ?? checkpoint.size, checkpoint.size);
  const entries = before === 0 ? [] : await log.query({ limit: LOG_PAGE_SIZE, beforeIndex: before });
  const split = checkpoint.note.lastIndexOf('\n\n');
  const [origin = '', size = '', root = ''] = checkpoint.note.slice(0, split).split('\n');
  const signatureLines = checkpoint.note.slice(split + 2).split('\n').filter((line) => line !== '');
  const rootHex = Buffer.from(root, 'base64').toString('hex');
  const src = sources(services.config.log.publicReads);
  const last = entries[entries.length - 1];
  const older = last !== undefined && last.index > 0 ? html`<a href="${LOG_EXPLORER_PATH}?before=${last.index}">Older entries</a>` : '';
  const newer = before < checkpoint.size ? html`<a href="${LOG_EXPLORER_PATH}">Newest entries</a>` : '';
  const body = html`<h1>Transparency log</h1>
<section aria-labelledby="checkpoint-heading">
<h2 id="checkpoint-heading">Latest checkpoint</h2>
<dl class="facts">
<dt>Origin</dt><dd><code>${origin}</code></dd>
<dt>Tree size</dt><dd>${size}</dd>
<dt>Root hash</dt><dd>${digestCode(rootHex)}</dd>
<dt>Log key</dt><dd><code class="digest" title="${log.verifierKey}">${log.verifierKey}</code></dd>
<dt>Signatures</dt><dd>${signatureLines.map((line) => html`<code class="digest" title="${line}">${line}</code><br>`)}</dd>
<dt>Signed at</dt><dd><time datetime="${checkpoint.createdAt}">${checkpoint.createdAt.slice(0, 19).replace('T', ' ')} UTC</time></dd>
</dl>
<details><summary>The signed note, as served at <code>/log/checkpoint</code></summary><pre>${checkpoint.note}</pre></details>
</section>
<section id="log-verifier" aria-labelledby="verifier-heading" data-log-verifier data-log-key="${log.verifierKey}" data-origin="${log.origin}"
 data-checkpoint-url="${src['checkpoint']}" data-tiles-url="${src['tiles']}" data-inclusion-url="${src['inclusion']}" data-consistency-url="${src['consistency']}">
<h2 id="verifier-heading">Verify in this browser</h2>
<p data-verifier-status class="muted">Verification in the browser needs JavaScript. Without it, check entries with <code>custody log verify</code>.</p>
<div data-verifier-result aria-live="polite"></div>
</section>
<section aria-labelledby="entries-heading">
<h2 id="entries-heading">Entries</h2>
${
  entries.length === 0
    ? html`<p class="empty">The log has no entries${before < checkpoint.size ? ' before this one' : ' yet'}.</p>`
    : html`<table>
<caption class="muted">Entries ${last?.index ?? 0}–${entries[0]?.index ?? 0} of ${checkpoint.size}, newest first</caption>
<thead><tr><th scope="col">Index</th><th scope="col">Type</th><th scope="col">Subject</th><th scope="col">Actor</th><th scope="col">Time</th><th scope="col">Leaf hash</th><th scope="col">Verify in browser</th></tr></thead>
<tbody>
${entries.map(entryRow)}
</tbody>
</table>`
}
<nav aria-label="Log pages" class="filters">${newer} ${older}</nav>
</section>
<script type="module" nonce="${nonce}" src="/ui/assets/verify-log.js"></script>`;
  return { kind: 'page', title: 'Transparency log', body };
}

/** JSON for the island when the log is not public: the API's bodies, under the session. */
function json(value: unknown): PageResult {
  return { kind: 'data', contentType: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}

export const logPages: readonly PageDef[] = [
  definePage({ method: 'GET', path: LOG_EXPLORER_PATH, access: logAccess, handle: explorer }),
  definePage({
    method: 'GET',
    path: `${DATA_PATH}/checkpoint`,
    access: logAccess,
    handle: async ({ services }) => {
      const { note } = await services.log.latestCheckpoint();
      return { kind: 'data', contentType: 'text/plain; charset=utf-8', body: note };
    },
  }),
  definePage({
    method: 'GET',
    path: `${DATA_PATH}/tile/{path*}`,
    access: logAccess,
    handle: async ({ services, params }) => ({ kind: 'data', contentType: 'application/octet-stream', body: await services.log.readTile(`tile/${params['path'] ?? ''}`) }),
  }),
  definePage({
    method: 'GET',
    path: `${DATA_PATH}/proof/inclusion`,
    access: logAccess,
    handle: async ({ services, url }) => {
      const index = countParam(url, 'index');
      if (index === undefined) throw new CustodyError('VALIDATION_FAILED', 'give index');
      return json(await services.log.proveInclusion(index, countParam(url, 'size')));
    },
  }),
  definePage({
    method: 'GET',
    path: `${DATA_PATH}/proof/consistency`,
    access: logAccess,
    handle: async ({ services, url }) => {
      const from = countParam(url, 'from');
      if (from === undefined) throw new CustodyError('VALIDATION_FAILED', 'give from');
      return json(await services.log.proveConsistency(from, countParam(url, 'to')));
    },
  }),
];
