/**
 * The same transfers done by standard C tools against the same Custody server, for
 * `bench:transfer`: what this machine allows when neither side is Custody's CLI.
 * - push: `openssl dgst -sha256 FILE` names the blob, then `curl -T FILE` PUTs it; the server
 *   hashes, writes and fsyncs as for `custody push` (no version is registered).
 * - pull: `curl URL | tee FILE | openssl dgst -sha256` fetches, writes and hashes in three
 *   processes at once; the digest printed must be the blob's.
 * They put a floor under what a client rewrite could win on this machine: the server's work and
 * the loopback transfer are the same, and the client side is as lean as it gets.
 */
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { trackChild } from './child-tracker.js';

/** Runs a bash pipeline (with pipefail) and returns its wall time and stdout. */
async function timedPipeline(script: string, env: NodeJS.ProcessEnv): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const child = spawn('bash', ['-c', `set -euo pipefail; ${script}`], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const untrack = trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-2000);
  });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`reference pipeline exited with ${code ?? 'a signal'}: ${stderr}`);
    return { ms: performance.now() - started, stdout };
  } finally {
    untrack();
  }
}

/** Whether curl and bash are there to run the reference (the bench prints no reference without). */
export async function referenceToolsAvailable(): Promise<boolean> {
  try {
    await timedPipeline('command -v curl >/dev/null && command -v openssl >/dev/null', process.env);
    return true;
  } catch {
    return false;
  }
}

/** Hashes `file` with openssl and PUTs it with curl; returns the wall time and the digest. */
export async function referencePush(serverUrl: string, token: string, file: string): Promise<{ ms: number; digest: string }> {
  const env = { ...process.env, REF_URL: serverUrl, REF_TOKEN: token, REF_FILE: file };
  const { ms, stdout } = await timedPipeline(
    'd=$(openssl dgst -sha256 -r "$REF_FILE" | cut -d" " -f1); ' +
      'curl -sS -f -o /dev/null -H "Expect:" -H "authorization: Bearer $REF_TOKEN" -H "content-type: application/octet-stream" -T "$REF_FILE" "$REF_URL/api/v1/blobs/sha256:$d"; ' +
      'echo "$d"',
    env,
  );
  return { ms, digest: `sha256:${stdout.trim()}` };
}

/** GETs a blob with curl, writing it to `target` and hashing it on the way; checks the digest. */
export async function referencePull(serverUrl: string, token: string, digest: string, target: string): Promise<{ ms: number }> {
  const env = { ...process.env, REF_URL: serverUrl, REF_TOKEN: token, REF_DIGEST: digest, REF_TARGET: target };
  const { ms, stdout } = await timedPipeline('curl -sS -f -H "authorization: Bearer $REF_TOKEN" "$REF_URL/api/v1/blobs/$REF_DIGEST" | tee "$REF_TARGET" | openssl dgst -sha256 -r | cut -d" " -f1', env);
  if (`sha256:${stdout.trim()}` !== digest) throw new Error(`the reference pull hashed to sha256:${stdout.trim()}, not ${digest}`);
  return { ms };
}
