/**
 * Test data and probes shared by the end-to-end suites: large deterministic files, file hashes,
 * and the server's upload byte counter (how tests prove what crossed the wire).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

export const MiB = 1024 * 1024;

/** Writes `blocks` MiB: one random MiB repeated, each block stamped with its index so no two blocks are equal. */
export async function writeBigFile(file: string, blocks: number): Promise<void> {
  const block = randomBytes(MiB);
  const handle = await open(file, 'wx');
  try {
    for (let i = 0; i < blocks; i++) {
      block.writeUInt32BE(i, 0);
      block.writeUInt32BE(i, MiB - 4);
      await handle.write(block, 0, MiB);
    }
  } finally {
    await handle.close();
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function uploadBytesReceived(serverUrl: string): Promise<number> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const match = /^custody_upload_bytes_received_total (\d+)$/m.exec(text);
  if (match?.[1] === undefined) throw new Error(`no upload byte counter in /metrics:\n${text}`);
  return Number(match[1]);
}
