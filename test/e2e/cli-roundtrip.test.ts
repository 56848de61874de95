/**
 * End to end through the real `custody` CLI against a real `custody serve` process (real HTTP,
 * real stores), once per metadata backend: push a nested directory with awkward names and a
 * 200 MiB file, pull it back by number and by digest and compare byte for byte, then the
 * browsing commands, idempotent re-push, pull's refusal to clobber, and the exit codes of SPEC §8.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiToken } from '../../src/auth/api-token.js';
import { BACKENDS, createTestStorage, runCli, spawnServer, type CliResult, type SpawnedServer, type TestStorage } from '../support/registry.js';
import { MiB, sha256File, uploadBytesReceived, writeBigFile } from '../support/test-files.js';

const BIG_FILE_BYTES = 200 * MiB;
const BIG_TEST_TIMEOUT = 180_000;

interface FileFacts {
  readonly size: number;
  readonly sha256: string;
}


/** Every regular file under `root` by its '/'-separated relative path; anything else is an error. */
async function snapshotTree(root: string): Promise<Map<string, FileFacts>> {
  const files = new Map<string, FileFacts>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      const abs = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(abs, rel);
      else if (entry.isFile()) {
        const handle = await open(abs, 'r');
        const { size } = await handle.stat().finally(() => handle.close());
        files.set(rel, { size, sha256: await sha256File(abs) });
      } else throw new Error(`unexpected non-file entry ${rel}`);
    }
  };
  await walk(root, '');
  return files;
}


/** The one JSON document a `--json` command prints on stdout. */
function jsonOf(result: CliResult): Record<string, unknown> {
  try {
    return JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${String(result.code)}):\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

function expectOk(result: CliResult): void {
  if (result.code !== 0) throw new Error(`custody exited ${String(result.code)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}

let work: string;
let nestedModel: string;
let nestedFacts: Map<string, FileFacts>;
let singleFile: string;
let annotatedModel: string;
let annotationsFile: string;
const ANNOTATIONS = { owner: 'vision-team', note: 'trust me', nested: { epochs: 3 } };

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'custody-e2e-roundtrip-'));
  nestedModel = path.join(work, 'nested');
  const write = async (rel: string, content: Buffer | string): Promise<void> => {
    const file = path.join(nestedModel, ...rel.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  };
  const config = JSON.stringify({ architecture: 'resnet', layers: 50 });
  await write('config.json', config);
  await write('copy-of-config.json', config); // same bytes under another name: one blob, two files
  await write('empty.txt', '');
  await write('.hidden', 'a dotfile travels too\n');
  await write('tokenizer/.vocab', randomBytes(4096));
  await write('données/模型-ünï.bin', randomBytes(3 * MiB));
  await write('a/b/c/d/e/f/g/h/deep.txt', 'deep\n');
  await write('shards/shard-00001.bin', randomBytes(9 * MiB)); // above the 8 MiB session threshold
  await mkdir(path.join(nestedModel, 'weights'), { recursive: true });
  await writeBigFile(path.join(nestedModel, 'weights', 'model.bin'), BIG_FILE_BYTES / MiB);
  nestedFacts = await snapshotTree(nestedModel);

  singleFile = path.join(work, 'single', 'model.safetensors');
  await mkdir(path.dirname(singleFile));
  await writeFile(singleFile, randomBytes(2 * MiB + 17));

  annotatedModel = path.join(work, 'annotated');
  await mkdir(path.join(annotatedModel, 'sub'), { recursive: true });
  await writeFile(path.join(annotatedModel, 'weights.bin'), randomBytes(64 * 1024));
  await writeFile(path.join(annotatedModel, 'sub', 'labels.txt'), 'cat\ndog\n');
  annotationsFile = path.join(work, 'annotations.json');
  await writeFile(annotationsFile, JSON.stringify(ANNOTATIONS));
}, BIG_TEST_TIMEOUT);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.each(BACKENDS)('custody CLI against a spawned server on %s', (backend) => {
  let storage: TestStorage | undefined;
  let server: SpawnedServer | undefined;
  let env: Record<string, string>;
  let out: string;
  /** What the first push of the nested model printed. */
  let pushed: { number: number; digest: string } | undefined;

  const cli = (args: readonly string[], extraEnv: Record<string, string> = {}, cwd?: string): Promise<CliResult> =>
    runCli(args, { ...env, ...extraEnv }, cwd);
  const serverUrl = (): string => {
    if (server === undefined) throw new Error('server not started');
    return server.url;
  };
  const firstPush = (): { number: number; digest: string } => {
    if (pushed === undefined) throw new Error('the nested model was not pushed (an earlier test failed)');
    return pushed;
  };

  beforeAll(async () => {
    storage = await createTestStorage(backend);
    out = await mkdtemp(path.join(tmpdir(), `custody-e2e-out-${backend}-`));
    const token = generateApiToken();
    server = await spawnServer({ dataDir: storage.dataDir, metadataSpec: storage.metadataSpec, blobs: storage.blobs, token });
    env = {
      CUSTODY_SERVER: server.url,
      CUSTODY_TOKEN: token,
      // A private client config: no saved login from another test can stand in for a token.
      XDG_CONFIG_HOME: path.join(out, 'xdg'),
    };
  });

  afterAll(async () => {
    try {
      await server?.stop();
    } finally {
      try {
        await storage?.cleanup();
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    }
  });

  it(
    'push then pull by number and by digest reproduces a nested directory byte for byte',
    async () => {
      const before = await uploadBytesReceived(serverUrl());
      const push = await cli(['push', nestedModel, '--model', 'ns/model', '--json']);
      expectOk(push);
      const result = jsonOf(push);
      const distinct = new Map([...nestedFacts.values()].map((f) => [f.sha256, f.size]));
      const distinctBytes = [...distinct.values()].reduce((s, n) => s + n, 0);
      expect(result).toMatchObject({
        model: 'ns/model',
        number: 1,
        created: true,
        uploadedFiles: distinct.size,
        uploadedBytes: distinctBytes,
        skippedFiles: nestedFacts.size - distinct.size,
      });
      expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      pushed = { number: 1, digest: String(result.digest) };
      // Every distinct blob crossed the wire exactly once.
      expect((await uploadBytesReceived(serverUrl())) - before).toBe(distinctBytes);

      const byNumber = path.join(out, 'by-number');
      const byDigest = path.join(out, 'by-digest');
      const [pullByNumber, pullByDigest] = await Promise.all([
        cli(['pull', 'ns/model@v1', '-o', byNumber, '--json']),
        cli(['pull', `ns/model@${pushed.digest}`, '-o', byDigest, '--json']),
      ]);
      expectOk(pullByNumber);
      expectOk(pullByDigest);
      const expected = { model: 'ns/model', number: 1, digest: pushed.digest, verified: true, files: nestedFacts.size, bytes: [...nestedFacts.values()].reduce((s, f) => s + f.size, 0) };
      expect(jsonOf(pullByNumber)).toMatchObject(expected);
      expect(jsonOf(pullByDigest)).toMatchObject(expected);
      expect(await snapshotTree(byNumber)).toEqual(nestedFacts);
      expect(await snapshotTree(byDigest)).toEqual(nestedFacts);

      // Pull publishes by rename: no temporary directory is left beside the targets.
      // `xdg` is the CLI's own state (the pinned log key); nothing else may sit beside the targets.
      expect((await readdir(out)).filter((name) => name !== 'xdg').sort()).toEqual(['by-digest', 'by-number']);
      await rm(byNumber, { recursive: true });
      await rm(byDigest, { recursive: true });
    },
    BIG_TEST_TIMEOUT,
  );

  it(
    'digest prints the version digest that push registered',
    async () => {
      const digest = await cli(['digest', nestedModel, '--json']);
      expectOk(digest);
      const result = jsonOf(digest);
      expect(result.digest).toBe(firstPush().digest);
      expect(result.singleFile).toBe(false);
      expect(Array.isArray(result.files) ? result.files.length : -1).toBe(nestedFacts.size);
    },
    BIG_TEST_TIMEOUT,
  );

  it(
    'pushing the same content again returns the existing version and uploads no bytes',
    async () => {
      const { digest } = firstPush();
      const before = await uploadBytesReceived(serverUrl());
      const again = await cli(['push', nestedModel, '--model', 'ns/model', '--json']);
      expectOk(again);
      expect(jsonOf(again)).toMatchObject({ model: 'ns/model', number: 1, digest, created: false, uploadedFiles: 0, uploadedBytes: 0, skippedFiles: nestedFacts.size });
      expect(await uploadBytesReceived(serverUrl())).toBe(before);

      const versions = jsonOf(await cli(['versions', 'ns/model', '--json']));
      expect(Array.isArray(versions.items) ? versions.items.length : -1).toBe(1);
    },
    BIG_TEST_TIMEOUT,
  );

  it('a single-file model round-trips as a file', async () => {
    const push = await cli(['push', singleFile, '--model', 'ns/single', '--json']);
    expectOk(push);
    const { digest } = jsonOf(push);
    const facts: FileFacts = { size: 2 * MiB + 17, sha256: await sha256File(singleFile) };
    const target = path.join(out, 'pulled.safetensors');
    const cwd = await mkdtemp(path.join(out, 'cwd-'));
    const [show, pullTo, pullHere] = await Promise.all([
      cli(['show', 'ns/single@v1', '--json']),
      cli(['pull', 'ns/single@v1', '-o', target]),
      // Without -o the file lands under its own name in the working directory.
      cli(['pull', `ns/single@${String(digest)}`], {}, cwd),
    ]);
    expectOk(show);
    expect(jsonOf(show)).toMatchObject({ singleFile: true, fileCount: 1, digest, files: [{ path: 'model.safetensors', size: facts.size, digest: `sha256:${facts.sha256}` }] });
    expectOk(pullTo);
    expectOk(pullHere);
    expect((await readdir(out, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name)).toEqual(['pulled.safetensors']);
    expect((await snapshotTree(out)).get('pulled.safetensors')).toEqual(facts);
    expect(await snapshotTree(cwd)).toEqual(new Map([['model.safetensors', facts]]));
    await rm(cwd, { recursive: true });
    await rm(target);
  });

  it('models, versions and show return the pushed data and show marks annotations unverified', async () => {
    const push = await cli(['push', annotatedModel, '--model', 'team/annotated', '--annotations', annotationsFile, '--json']);
    expectOk(push);
    const { digest } = jsonOf(push);

    const [modelsRun, versionsRun, show, human] = await Promise.all([
      cli(['models', '--json']),
      cli(['versions', 'team/annotated', '--json']),
      cli(['show', 'team/annotated@v1', '--json']),
      cli(['show', `team/annotated@${String(digest)}`]),
    ]);
    const models = jsonOf(modelsRun);
    expect(models.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ namespace: 'team', name: 'annotated', versionCount: 1, latest: expect.objectContaining({ number: 1, digest }) as unknown }),
        expect.objectContaining({ namespace: 'ns', name: 'model', versionCount: 1, latest: expect.objectContaining({ number: 1, digest: firstPush().digest }) as unknown }),
      ]),
    );

    const versions = jsonOf(versionsRun);
    expect(versions.items).toEqual([expect.objectContaining({ number: 1, digest, fileCount: 2, totalSize: 64 * 1024 + 8, registeredBy: 'admin' })]);

    expectOk(show);
    const shown = jsonOf(show);
    expect(shown).toMatchObject({ namespace: 'team', name: 'annotated', number: 1, digest, registeredBy: 'admin', annotations: ANNOTATIONS, annotationsVerified: false });
    expect(shown.files).toEqual([
      { path: 'sub/labels.txt', size: 8, digest: `sha256:${await sha256File(path.join(annotatedModel, 'sub', 'labels.txt'))}` },
      { path: 'weights.bin', size: 64 * 1024, digest: `sha256:${await sha256File(path.join(annotatedModel, 'weights.bin'))}` },
    ]);
    expect(Date.parse(String(shown.registeredAt))).not.toBeNaN();

    expectOk(human);
    expect(human.stdout).toContain('UNVERIFIED');
    expect(human.stdout).toContain('vision-team');
  });

  it('pull refuses a non-empty target without --force and leaves it untouched, and replaces it with --force', async () => {
    const target = path.join(out, 'occupied');
    await mkdir(target);
    await writeFile(path.join(target, 'precious.txt'), 'do not lose me');
    const untouched = await snapshotTree(target);

    const refused = await cli(['pull', 'team/annotated@v1', '-o', target, '--json']);
    expect(refused.code).not.toBe(0);
    expect(jsonOf(refused)).toMatchObject({ error: { code: 'TARGET_NOT_EMPTY' } });
    expect(await snapshotTree(target)).toEqual(untouched);
    expect((await readdir(out)).filter((n) => n.includes('.custody-'))).toEqual([]);

    expectOk(await cli(['pull', 'team/annotated@v1', '-o', target, '--force']));
    expect(await snapshotTree(target)).toEqual(await snapshotTree(annotatedModel));
    expect((await readdir(out)).filter((n) => n.includes('.custody-'))).toEqual([]);
  });

  it('exits 6 for an unknown version, 5 without a valid token and 2 for bad usage', async () => {
    // Independent invocations, run side by side: each CLI start costs about a second here.
    const [unknownPull, unknownShow, unknownDigest, unknownModel, noToken, wrongToken, malformedToken, noModel, badRef, badCommand] = await Promise.all([
      cli(['pull', 'ns/model@v99', '-o', path.join(out, 'never'), '--json']),
      cli(['show', 'ns/model@v99']),
      cli(['show', `ns/model@sha256:${'0'.repeat(64)}`]),
      cli(['versions', 'ns/no-such-model']),
      cli(['models'], { CUSTODY_TOKEN: '' }),
      cli(['show', 'ns/model@v1'], { CUSTODY_TOKEN: generateApiToken() }),
      cli(['push', singleFile, '--model', 'ns/single'], { CUSTODY_TOKEN: 'not-a-token' }),
      cli(['push', annotatedModel]),
      cli(['pull', 'not a reference']),
      cli(['frobnicate']),
    ]);
    expect(unknownPull.code).toBe(6);
    expect(jsonOf(unknownPull)).toMatchObject({ error: { code: 'VERSION_NOT_FOUND' } });
    expect(unknownShow.code).toBe(6);
    expect(unknownDigest.code).toBe(6);
    expect(unknownModel.code).toBe(6);

    expect(noToken.code).toBe(5);
    expect(wrongToken.code).toBe(5);
    expect(malformedToken.code).toBe(5);

    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain('--model');
    expect(badRef.code).toBe(2);
    expect(badCommand.code).toBe(2);
    expect(await readdir(out)).not.toContain('never');
  });
});
