/**
 * The transparency-log explorer over real HTTP (issue 8; reference/ui-screens.md §2.6), on both
 * metadata stores: the page shows the latest signed checkpoint (the one `/log/checkpoint` serves)
 * and the newest entries with the API's leaf hashes, pages back by index, embeds the log's
 * verifier key for the browser island and loads the island only through the response's CSP
 * nonce; the island script is served as one self-contained module; the page and its session data
 * endpoints need `model:read` like the API; and with `log.publicReads` off the island reads the
 * same checkpoint, entries and proofs under the session instead of the token-only API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointOf, createPrincipal, pushModel, setUpSeed } from '../support/promotion-fixtures.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { api } from '../support/trust-fixtures.js';
import { page, signInCookie, type Reply } from '../support/ui-session.js';

/** GETs `path`, with the session `cookie` when given. */
function get(reg: TestRegistry, path: string, cookie?: string): Promise<Reply> {
  return page(reg, path, cookie === undefined ? {} : { cookie });
}

function attribute(text: string, name: string): string | undefined {
  return new RegExp(`${name}="([^"]*)"`).exec(text)?.[1];
}

describe.each(BACKENDS)('the log explorer on %s', (backend) => {
  let reg: TestRegistry;
  let cookie: string;

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    const seed = await setUpSeed(reg);
    await pushModel(reg, 'fraud/detector', seed.keys.training);
    cookie = await signInCookie(reg, reg.token, '/log/explorer');
  });

  afterAll(async () => {
    await reg.stop();
  });

  it('shows the signed checkpoint and the newest entries with the API’s leaf hashes', async () => {
    const checkpoint = await checkpointOf(reg);
    const size = Number(checkpoint.size);
    expect(size).toBeGreaterThan(3);
    const reply = await get(reg, '/log/explorer', cookie);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.text).toContain(`<code>${checkpoint.origin}</code>`);
    expect(reply.text).toContain(`<dd>${size}</dd>`);
    expect(reply.text).toContain(checkpoint.rootHash.toString('hex'));
    expect(reply.text).toMatch(/<code class="digest" title="— [^"]+">— /);
    const rows = [...reply.text.matchAll(/data-verify-index="(\d+)" data-leaf-hash="([0-9a-f]{64})"/g)].map((m) => [Number(m[1]), m[2]] as const);
    expect(rows.length).toBe(Math.min(size, 25));
    expect(rows[0]?.[0]).toBe(size - 1);
    expect(rows.map(([index]) => index)).toEqual([...rows.map(([index]) => index)].sort((a, b) => b - a));
    for (const [index, leafHash] of rows.slice(0, 5)) {
      const entry = await api(reg, 'GET', `/api/v1/log/entries/${index}`);
      expect(entry.json['leafHash'], `entry ${index}`).toBe(leafHash);
    }
    expect(reply.text).toContain('<code>version.registered</code>');
    expect(reply.text).toContain('fraud/detector');
  });

  it('pages back by index, newest first', async () => {
    const reply = await get(reg, '/log/explorer?before=3', cookie);
    expect(reply.status).toBe(200);
    expect([...reply.text.matchAll(/data-verify-index="(\d+)"/g)].map((m) => Number(m[1]))).toEqual([2, 1, 0]);
    expect(reply.text).not.toContain('Older entries');
    expect(reply.text).toContain('href="/log/explorer">Newest entries</a>');
    const bad = await get(reg, '/log/explorer?before=-1', cookie);
    expect(bad.status).toBe(400);
  });

  it('embeds the log key and the public read URLs, and loads the island only by the response’s nonce', async () => {
    const reply = await get(reg, '/log/explorer', cookie);
    const key = await api(reg, 'GET', '/api/v1/log/key');
    expect(attribute(reply.text, 'data-log-key')).toBe(key.json['verifierKey']);
    expect(attribute(reply.text, 'data-origin')).toBe(key.json['origin']);
    expect(attribute(reply.text, 'data-checkpoint-url')).toBe('/log/checkpoint');
    expect(attribute(reply.text, 'data-inclusion-url')).toBe('/api/v1/log/proof/inclusion');
    expect(attribute(reply.text, 'data-tiles-url')).toBe('/log/');
    const nonce = /script-src 'nonce-([^']+)'/.exec(reply.headers.get('content-security-policy') ?? '')?.[1];
    expect(nonce).toBeDefined();
    expect(reply.text).toContain(`<script type="module" nonce="${nonce ?? ''}" src="/ui/assets/verify-log.js"></script>`);
    expect(reply.text).not.toMatch(/<script(?![^>]*nonce=)/);
    // The C2SP checkpoint is still the API's, beside the page.
    const note = await get(reg, '/log/checkpoint');
    expect(note.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(note.text.split('\n')[0]).toBe(key.json['origin']);
  });

  it('serves the island as one self-contained script with the portable verifiers inlined', async () => {
    const script = await get(reg, '/ui/assets/verify-log.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.text).not.toMatch(/^\s*import\s/m);
    expect(script.text).toContain('verifyInclusionWith');
    expect(script.text).toContain('verifyCheckpointNote');
    expect(script.text).toContain('portableSplitBundle');
    expect(script.text).toContain("subtle.verify({ name: 'Ed25519' }");
  });

  it('needs model:read like the log API: a principal without it is refused the page and its data', async () => {
    const nobody = await createPrincipal(reg, `nobody-${backend}`, 'user', []);
    const theirs = await signInCookie(reg, nobody, '/log/explorer');
    for (const path of ['/log/explorer', '/log/explorer/data/checkpoint', '/log/explorer/data/proof/inclusion?index=0']) {
      const reply = await get(reg, path, theirs);
      expect(reply.status, path).toBe(403);
      expect(reply.text).not.toContain('data-verify-index');
    }
    const anonymous = await get(reg, '/log/explorer');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/sign-in?next=%2Flog%2Fexplorer');
  });
});

describe.each(BACKENDS)('the log explorer with log.publicReads off on %s', (backend) => {
  let reg: TestRegistry;
  let cookie: string;

  beforeAll(async () => {
    reg = await startTestRegistry(backend, { log: { publicReads: false } });
    cookie = await signInCookie(reg, reg.token, '/log/explorer');
  });

  afterAll(async () => {
    await reg.stop();
  });

  it('points the island at session copies of the checkpoint, tiles and proofs, identical to the API’s', async () => {
    expect((await get(reg, '/log/checkpoint')).status).toBe(401);
    const page = await get(reg, '/log/explorer', cookie);
    expect(page.status).toBe(200);
    expect(attribute(page.text, 'data-checkpoint-url')).toBe('/log/explorer/data/checkpoint');
    expect(attribute(page.text, 'data-tiles-url')).toBe('/log/explorer/data/');
    expect(attribute(page.text, 'data-consistency-url')).toBe('/log/explorer/data/proof/consistency');
    const bearer = { authorization: `Bearer ${reg.token}` };
    const note = await (await fetch(`${reg.url}/log/checkpoint`, { headers: bearer })).text();
    expect((await get(reg, '/log/explorer/data/checkpoint', cookie)).text).toBe(note);
    const size = Number(note.split('\n')[1]);
    expect(size).toBeGreaterThan(2);
    const inclusion = await get(reg, `/log/explorer/data/proof/inclusion?index=1&size=${size}`, cookie);
    expect(inclusion.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(inclusion.text)).toEqual(await (await fetch(`${reg.url}/api/v1/log/proof/inclusion?index=1&size=${size}`, { headers: bearer })).json());
    const consistency = await get(reg, `/log/explorer/data/proof/consistency?from=1&to=${size}`, cookie);
    expect(JSON.parse(consistency.text)).toEqual(await (await fetch(`${reg.url}/api/v1/log/proof/consistency?from=1&to=${size}`, { headers: bearer })).json());
    // The tiles: the same bytes as the C2SP read API's, for an entry bundle and a hash tile.
    for (const tile of [`tile/entries/000.p/${size}`, `tile/0/000.p/${size}`]) {
      const copy = await fetch(`${reg.url}/log/explorer/data/${tile}`, { headers: { cookie } });
      expect(copy.status, tile).toBe(200);
      expect(copy.headers.get('content-type')).toBe('application/octet-stream');
      expect(copy.headers.get('content-disposition')).toBeNull();
      const fromApi = Buffer.from(await (await fetch(`${reg.url}/log/${tile}`, { headers: bearer })).arrayBuffer());
      expect(Buffer.from(await copy.arrayBuffer()).equals(fromApi), tile).toBe(true);
    }
    expect((await get(reg, `/log/explorer/data/tile/entries/000.p/${size + 1}`, cookie)).status).toBe(404);
    expect((await get(reg, '/log/explorer/data/tile/entries/0', cookie)).status).toBe(404);
    expect((await get(reg, '/log/explorer/data/proof/inclusion', cookie)).status).toBe(400);
  });
});
