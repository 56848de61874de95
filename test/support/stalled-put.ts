/**
 * An upload stalled in flight, for crash and fault tests (SPEC §10 "crash mid-write", issue 7 §4):
 * a single-shot blob PUT (`PUT /api/v1/blobs/{digest}`) over a raw socket that announces the
 * whole body, sends only part of it and keeps the connection open, so that the server holds a
 * partial write (a temporary file, or an S3 part buffer / open multipart upload) when it is killed.
 */
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * Opens a single-shot blob PUT on `serverUrl` announcing all of `body` (as `token`), sends its
 * first `sent` bytes and stalls. Destroy the returned socket to end it.
 */
export async function startStalledPut(serverUrl: string, token: string, body: Buffer, sent: number): Promise<Socket> {
  const { hostname, port } = new URL(serverUrl);
  const digest = createHash('sha256').update(body).digest('hex');
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  socket.resume();
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `PUT /api/v1/blobs/sha256:${digest} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  socket.write(body.subarray(0, sent));
  return socket;
}
