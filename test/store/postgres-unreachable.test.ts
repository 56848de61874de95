/**
 * A PostgreSQL that stops answering without refusing connections (a network partition, a hung
 * server) must fail a request with 503 SERVICE_UNAVAILABLE in bounded time, not hang it (issue 7
 * §4). Here the "server" is a listener that accepts TCP connections and never says a word; a
 * refused connection (ECONNREFUSED) is covered by the same mapping.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toProblem } from '../../src/api/problem.js';
import { openPostgresMetadataStore } from '../../src/store/postgres/postgres-metadata-store.js';

describe('a PostgreSQL that accepts connections and never answers', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  let port = 0;

  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    port = address.port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => { resolve(); }));
  });

  it('fails a query within the connection timeout, as 503 SERVICE_UNAVAILABLE', async () => {
    const store = await openPostgresMetadataStore(`postgres://custody:secret@127.0.0.1:${port}/custody`);
    try {
      const started = Date.now();
      const error = await store.ping().then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(Error);
      expect(elapsed).toBeGreaterThanOrEqual(9_000);
      expect(elapsed).toBeLessThan(20_000);
      expect(toProblem(error)).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      expect(JSON.stringify(toProblem(error))).not.toContain('secret');
    } finally {
      await store.close();
    }
  }, 30_000);

  it('maps a refused connection to 503 SERVICE_UNAVAILABLE too', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await new Promise<void>((resolve) => closed.close(() => { resolve(); }));
    const store = await openPostgresMetadataStore(`postgres://custody:secret@127.0.0.1:${address.port}/custody`);
    try {
      const error = await store.ping().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(toProblem(error)).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    } finally {
      await store.close();
    }
  });
});
