/**
 * The OpenAPI document and a self-contained docs page rendered from it (no external scripts:
 * the registry may run where nothing outside is reachable). Both are public: they describe the
 * API, not its data.
 */
import { defineRoute, type AnyRoute } from '../route.js';
import { buildOpenApi } from '../openapi.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderDocs(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, { summary: string; operationId: string; security: unknown[]; 'x-custody-permission'?: string }>>;
  const rows = Object.entries(paths)
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(
        ([method, op]) =>
          `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(op.summary)}</td><td>${
            op['x-custody-permission'] === undefined ? 'public' : `<code>${escapeHtml(op['x-custody-permission'])}</code>`
          }</td></tr>`,
      ),
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Custody API</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}code{font-size:.95em}</style>
</head><body><h1>Custody API</h1>
<p>JSON under <code>/api/v1/</code>; errors are RFC 9457 <code>application/problem+json</code> with a stable <code>code</code>. Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>. The machine-readable document is <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</p>
<table><thead><tr><th>method</th><th>path</th><th>what</th><th>permission</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>`;
}

export function docsRoutes(allRoutes: () => readonly AnyRoute[], version: string): AnyRoute[] {
  let cached: Record<string, unknown> | undefined;
  const doc = (): Record<string, unknown> => (cached ??= buildOpenApi(allRoutes(), version));
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/openapi.json',
      operationId: 'openapi',
      summary: 'This API as an OpenAPI 3.1 document',
      tag: 'operations',
      auth: 'public',
      body: { kind: 'none' },
      responses: { 200: { description: 'the OpenAPI document', contentType: 'application/json' } },
      handle: () => Promise.resolve({ status: 200, json: doc() }),
    }),
    defineRoute({
      method: 'GET',
      path: '/docs',
      operationId: 'docs',
      summary: 'API documentation page',
      tag: 'operations',
      auth: 'public',
      hidden: true,
      body: { kind: 'none' },
      responses: { 200: { description: 'HTML', contentType: 'text/html' } },
      handle: () =>
        Promise.resolve({
          status: 200,
          text: renderDocs(doc()),
          contentType: 'text/html; charset=utf-8',
          headers: { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" },
        }),
    }),
  ];
}
