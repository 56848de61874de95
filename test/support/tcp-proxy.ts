/**
 * A TCP forwarder for fault tests (issue 7 §4): clients talk to the proxy's loopback port, the
 * proxy pipes each connection to the target server, and `close()` makes the target "go away" —
 * the listener stops and every live connection is cut. Starting a new proxy on the same `port`
 * brings the target back at the address the code under test was configured with.
 */
import { createServer, Socket, type Server } from 'node:net';

/** A running forwarder. */
export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: the endpoint to configure instead of the target's. */
  readonly endpoint: string;
  /** The loopback port it listens on (pass it to `startTcpProxy` to come back on the same address). */
  readonly port: number;
  /** Bytes forwarded from clients to the target so far (to cut the target off mid-transfer). */
  bytesToTarget(): number;
  /** Stops listening and destroys every live connection; later calls return the first call's promise. */
  close(): Promise<void>;
}

/**
 * Forwards connections on 127.0.0.1:`port` (0: any free port) to `target`'s host and port. A
 * connection the target refuses is closed at once, as a dead server's would be.
 */
export async function startTcpProxy(target: URL, port = 0): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let toTarget = 0;
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.connect(Number(target.port), target.hostname, () => {
      client.on('data', (chunk: Buffer) => (toTarget += chunk.length));
      client.pipe(upstream).pipe(client);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = address !== null && typeof address === 'object' ? address.port : 0;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    port: bound,
    bytesToTarget: () => toTarget,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      })),
  };
}
