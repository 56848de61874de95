/**
 * Client state in `$XDG_CONFIG_HOME/custody/` (SPEC §8): the server URL and token saved by
 * `custody login`, and per registry the pinned log key with the newest checkpoint and the pinned
 * VSA key. The file holds a secret, so it is written with mode 0600 in a 0700 folder.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { CustodyError } from '../domain/errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8700';

/** What the client trusts about one registry's log: the pinned key and the newest verified checkpoint. */
const logTrustSchema = z.object({ logKey: z.string(), checkpoint: z.string().optional() });
export type LogTrust = z.infer<typeof logTrustSchema>;

/** The registry's pinned VSA public key (SPKI PEM) and its key id. */
const vsaTrustSchema = z.object({ publicKey: z.string(), keyId: z.string() });
export type VsaTrust = z.infer<typeof vsaTrustSchema>;

const clientConfigSchema = z.object({
  server: z.string().optional(),
  token: z.string().optional(),
  /** Per registry URL (origin). */
  trust: z.record(z.string(), logTrustSchema).optional(),
  /** Per registry URL (origin). */
  vsaKeys: z.record(z.string(), vsaTrustSchema).optional(),
});
export type ClientConfig = z.infer<typeof clientConfigSchema>;

export function clientConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'custody');
}

export async function readClientConfig(env: NodeJS.ProcessEnv = process.env): Promise<ClientConfig> {
  const file = path.join(clientConfigDir(env), 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const parsed = clientConfigSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  throw new CustodyError('CONFIG_INVALID', `${file} is not a valid client configuration; run custody login again`);
}

export async function writeClientConfig(config: ClientConfig, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = clientConfigDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'config.json');
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, file);
  return file;
}

/** The log trust saved for `server` (by URL origin), if any. */
export async function readLogTrust(server: string, env: NodeJS.ProcessEnv = process.env): Promise<LogTrust | undefined> {
  return (await readClientConfig(env)).trust?.[new URL(server).origin];
}

/** Saves the pinned key and newest checkpoint for `server`, keeping everything else. */
export async function saveLogTrust(server: string, trust: LogTrust, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = await readClientConfig(env);
  await writeClientConfig({ ...config, trust: { ...(config.trust ?? {}), [new URL(server).origin]: trust } }, env);
}

/** The VSA key pinned for `server` (by URL origin), if any. */
export async function readVsaTrust(server: string, env: NodeJS.ProcessEnv = process.env): Promise<VsaTrust | undefined> {
  return (await readClientConfig(env)).vsaKeys?.[new URL(server).origin];
}

/** Pins `trust` as the VSA key of `server`, keeping everything else. */
export async function saveVsaTrust(server: string, trust: VsaTrust, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = await readClientConfig(env);
  await writeClientConfig({ ...config, vsaKeys: { ...(config.vsaKeys ?? {}), [new URL(server).origin]: trust } }, env);
}
