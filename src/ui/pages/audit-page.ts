/**
 * The audit feed (reference/ui-screens.md §2.7): log events newest first, from the same
 * `TransparencyLog.query` as `GET /api/v1/audit` with the same permission (`audit:read`). Event
 * type, model and "since" narrow the query itself as in the API; actor and "until", which the
 * store cannot filter on, are applied to the entries read, scanning at most `SCAN_BUDGET` of them
 * per page, so the `before` cursor always resumes right after the last entry examined. Exports
 * (`/audit/export?format=csv|jsonl`) carry the current filter's newest `EXPORT_LIMIT` events.
 */
import { CustodyError } from '../../domain/errors.js';
import { LOG_EVENT_TYPES, type LogEventType } from '../../domain/log-event.js';
import { parseModelName } from '../../domain/model-ref.js';
import type { Services } from '../../api/services.js';
import { digestCode } from '../digest-code.js';
import { html, type Html } from '../html.js';
import { definePage, type PageDef } from '../page.js';
import { formInstant } from './keys-page.js';

const PAGE_SIZE = 50;
/** Most entries one page or export reads while applying the actor / until filters. */
const SCAN_BUDGET = 100_000;
/** Most events one export carries. */
export const EXPORT_LIMIT = 10_000;
const AUDIT_READ = { permission: 'audit:read', scope: 'global' } as const;

interface AuditFilter {
  readonly type?: LogEventType;
  readonly model?: string;
  readonly actor?: string;
  readonly since?: string;
  readonly until?: string;
}

interface AuditRow {
  readonly index: number;
  readonly leafHash: string;
  readonly event: Readonly<Record<string, unknown>>;
}

function parseFilter(params: URLSearchParams): AuditFilter {
  const text = (name: string, max: number): string | undefined => {
    const value = (params.get(name) ?? '').trim();
    return value === '' ? undefined : value.slice(0, max);
  };
  const type = text('type', 64);
  if (type !== undefined && !(LOG_EVENT_TYPES as readonly string[]).includes(type)) throw new CustodyError('VALIDATION_FAILED', 'unknown event type', { details: { field: 'type' } });
  const model = text('model', 300);
  if (model !== undefined) parseModelName(model);
  const actor = text('actor', 128);
  const since = formInstant(params.get('since'), 'since') ?? undefined;
  const until = formInstant(params.get('until'), 'until') ?? undefined;
  return { ...(type === undefined ? {} : { type: type as LogEventType }), ...(model === undefined ? {} : { model }), ...(actor === undefined ? {} : { actor }), ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) };
}

function filterQuery(filter: AuditFilter): Record<string, string> {
  return Object.fromEntries(Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function parseBefore(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw new CustodyError('VALIDATION_FAILED', 'before must be a log index', { details: { field: 'before' } });
  return Number(value);
}

function parseEvent(leaf: string): Readonly<Record<string, unknown>> {
  try {
    const value: unknown = JSON.parse(leaf);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through: a leaf that is not an event object is shown as such
  }
  return { type: 'unreadable' };
}

function field(event: Readonly<Record<string, unknown>>, name: string): string {
  const value = event[name];
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

function actorName(event: Readonly<Record<string, unknown>>): string {
  const actor = event['actor'];
  return typeof actor === 'object' && actor !== null && typeof (actor as Record<string, unknown>)['principal'] === 'string' ? String((actor as Record<string, unknown>)['principal']) : '';
}

/**
 * The newest events matching `filter` below `before`, at most `limit`, and the cursor of the next
 * page (null at the end of the log).
 */
export async function collectAuditEvents(services: Services, filter: AuditFilter, limit: number, before: number | undefined): Promise<{ rows: AuditRow[]; nextBefore: number | null }> {
  const model = filter.model === undefined ? undefined : parseModelName(filter.model);
  const postFiltered = filter.actor !== undefined || filter.until !== undefined;
  const rows: AuditRow[] = [];
  let cursor = before;
  let scanned = 0;
  for (;;) {
    const batch = postFiltered ? 1000 : Math.min(1000, limit - rows.length);
    const entries = await services.log.query({
      limit: batch,
      ...(filter.type === undefined ? {} : { types: [filter.type] }),
      ...(model === undefined ? {} : { namespace: model.namespace, name: model.name }),
      ...(filter.since === undefined ? {} : { since: filter.since }),
      ...(cursor === undefined ? {} : { beforeIndex: cursor }),
    });
    for (const entry of entries) {
      cursor = entry.index;
      scanned++;
      const event = parseEvent(entry.leaf);
      if (filter.actor !== undefined && actorName(event) !== filter.actor) continue;
      if (filter.until !== undefined && !(field(event, 'time') <= filter.until)) continue;
      rows.push({ index: entry.index, leafHash: entry.leafHash, event });
      if (rows.length === limit) return { rows, nextBefore: entry.index === 0 ? null : entry.index };
    }
    if (entries.length < batch || cursor === 0) return { rows, nextBefore: null };
    if (scanned >= SCAN_BUDGET) return { rows, nextBefore: cursor ?? null };
  }
}

const SUBJECT_FIELDS = ['model', 'number', 'version', 'environment', 'outcome', 'key', 'principal', 'target', 'role', 'token', 'digest'] as const;

function subject(event: Readonly<Record<string, unknown>>): Html {
  const parts = SUBJECT_FIELDS.flatMap((name) => {
    const value = field(event, name);
    if (value === '') return [];
    return [html`<span>${name} ${/^sha256:[0-9a-f]{64}$/.test(value) ? digestCode(value) : html`<strong>${value}</strong>`}</span> `];
  });
  return parts.length === 0 ? html`<span class="muted">—</span>` : html`${parts}`;
}

function row({ index, event }: AuditRow): Html {
  const actor = event['actor'];
  const via = typeof actor === 'object' && actor !== null ? field(actor as Record<string, unknown>, 'via') : '';
  const time = field(event, 'time');
  return html`<tr>
<td>${time === '' ? '—' : html`<time datetime="${time}">${time.slice(0, 19).replace('T', ' ')}</time>`}</td>
<td>${actorName(event) || '—'}${via === '' ? '' : html`<br><span class="muted">via ${via}</span>`}</td>
<td><code>${field(event, 'type')}</code></td>
<td>${subject(event)}${field(event, 'reason') === '' ? '' : html`<br><span class="muted">reason: ${field(event, 'reason')}</span>`}</td>
<td>${index}</td>
</tr>`;
}

function filterForm(filter: AuditFilter): Html {
  return html`<form class="filters" method="get" action="/audit" role="search">
  <label>Event type <select name="type"><option value="">any</option>${LOG_EVENT_TYPES.map((t) => html`<option value="${t}"${filter.type === t ? html` selected` : ''}>${t}</option>`)}</select></label>
  <label>Actor <input type="search" name="actor" value="${filter.actor ?? ''}" maxlength="128"></label>
  <label>Model <input type="search" name="model" value="${filter.model ?? ''}" maxlength="300" placeholder="namespace/name"></label>
  <label>Since (UTC) <input type="datetime-local" step="1" name="since" value="${filter.since?.slice(0, 19) ?? ''}"></label>
  <label>Until (UTC) <input type="datetime-local" step="1" name="until" value="${filter.until?.slice(0, 19) ?? ''}"></label>
  <button type="submit">Filter</button>
</form>`;
}

/** A CSV cell: formula-leading text (`= + - @`, tab, CR) gets a leading `'` so spreadsheets show it as text; then RFC 4180 quoting. */
export function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const CSV_COLUMNS = ['index', 'time', 'type', 'actor', 'via', 'model', 'version', 'environment', 'key', 'reason', 'leafHash', 'event'] as const;

function csvLine(r: AuditRow): string {
  const actor = r.event['actor'];
  const values: Record<(typeof CSV_COLUMNS)[number], string | number> = {
    index: r.index,
    time: field(r.event, 'time'),
    type: field(r.event, 'type'),
    actor: actorName(r.event),
    via: typeof actor === 'object' && actor !== null ? field(actor as Record<string, unknown>, 'via') : '',
    model: field(r.event, 'model'),
    version: field(r.event, 'version'),
    environment: field(r.event, 'environment'),
    key: field(r.event, 'key'),
    reason: field(r.event, 'reason'),
    leafHash: r.leafHash,
    event: JSON.stringify(r.event),
  };
  return CSV_COLUMNS.map((c) => csvCell(values[c])).join(',');
}

export const auditPages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/audit',
    access: AUDIT_READ,
    handle: async (ctx) => {
      const filter = parseFilter(ctx.url.searchParams);
      const before = parseBefore(ctx.url.searchParams.get('before'));
      const { rows, nextBefore } = await collectAuditEvents(ctx.services, filter, PAGE_SIZE, before);
      const query = filterQuery(filter);
      const exportHref = (format: string): string => `/audit/export?${new URLSearchParams({ format, ...query }).toString()}`;
      const filtered = Object.keys(query).length > 0;
      const table = html`<table>
<caption class="muted">Log events, newest first${filtered ? ' (filtered)' : ''}</caption>
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Actor</th><th scope="col">Event</th><th scope="col">Subject</th><th scope="col">Log index</th></tr></thead>
<tbody>${rows.map(row)}</tbody>
</table>`;
      const body = html`<h1>Audit feed</h1>
${filterForm(filter)}
<p>Export this filter's newest ${EXPORT_LIMIT.toLocaleString('en')} events: <a href="${exportHref('csv')}" download>CSV</a> · <a href="${exportHref('jsonl')}" download>JSONL</a></p>
${rows.length === 0 ? html`<p class="empty">No event matches${filtered ? html` this filter. <a href="/audit">Show all events</a>` : ' yet'}.</p>` : table}
${nextBefore === null ? '' : html`<p><a href="/audit?${new URLSearchParams({ ...query, before: String(nextBefore) }).toString()}">Older events</a></p>`}
${before === undefined ? '' : html`<p><a href="/audit?${new URLSearchParams(query).toString()}">Newest events</a></p>`}`;
      return { kind: 'page', title: 'Audit feed', body };
    },
  }),
  definePage({
    method: 'GET',
    path: '/audit/export',
    access: AUDIT_READ,
    handle: async (ctx) => {
      const format = ctx.url.searchParams.get('format') ?? 'csv';
      if (format !== 'csv' && format !== 'jsonl') throw new CustodyError('VALIDATION_FAILED', 'format is csv or jsonl', { details: { field: 'format' } });
      const { rows } = await collectAuditEvents(ctx.services, parseFilter(ctx.url.searchParams), EXPORT_LIMIT, undefined);
      const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
      ctx.audit('audit.exported', { format, rows: rows.length, filter: ctx.url.searchParams.toString().slice(0, 500) });
      if (format === 'jsonl') {
        const body = rows.map((r) => `${JSON.stringify({ index: r.index, leafHash: r.leafHash, event: r.event })}\n`).join('');
        return { kind: 'download', contentType: 'application/jsonl; charset=utf-8', filename: `custody-audit-${stamp}.jsonl`, body };
      }
      const body = [CSV_COLUMNS.join(','), ...rows.map(csvLine)].join('\r\n') + '\r\n';
      return { kind: 'download', contentType: 'text/csv; charset=utf-8', filename: `custody-audit-${stamp}.csv`, body };
    },
  }),
];
