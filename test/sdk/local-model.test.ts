/**
 * Behaviour of the client-side model scanner (SPEC §4.1, reference/oms.md §2): what is walked,
 * what is skipped, what is rejected, the canonical order, and the two digests it yields.
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustodyError, type ErrorCode } from '../../src/domain/errors.js';
import { canonicalManifestJson, manifestDigest, omsRootDigest } from '../../src/domain/manifest.js';
import { omsResourcesFor, scanModel } from '../../src/sdk/local-model.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'custody-scan-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `files` (relative path → content) under `root`, creating folders. */
function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [relative, content] of Object.entries(files)) {
    const absolute = path.join(root, ...relative.split('/'));
    mkdirSync(path.dirname(absolute), { recursive: true });
    writeFileSync(absolute, content);
  }
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<CustodyError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CustodyError);
  expect((error as CustodyError).code).toBe(code);
  return error as CustodyError;
}

describe('scanModel on a directory', () => {
  it('round-trips nested paths, unicode names, sizes and empty files', async () => {
    writeTree(dir, {
      'config.json': '{"a":1}',
      'weights/part-1.bin': Buffer.alloc(3000, 7),
      'weights/empty.bin': '',
      'modèle/权重 1.safetensors': 'tensor',
    });
    mkdirSync(path.join(dir, 'empty-dir/nested'), { recursive: true });

    const model = await scanModel(dir);

    expect(model.root).toBe(path.resolve(dir));
    expect(model.singleFile).toBe(false);
    expect(model.files.map((f) => [f.path, f.size, f.sha256])).toEqual([
      ['config.json', 7, sha256('{"a":1}')],
      ['modèle/权重 1.safetensors', 6, sha256('tensor')],
      ['weights/empty.bin', 0, sha256('')],
      ['weights/part-1.bin', 3000, sha256(Buffer.alloc(3000, 7))],
    ]);
    expect(model.files.map((f) => f.absolutePath)).toEqual(model.files.map((f) => path.join(dir, ...f.path.split('/'))));
    expect(model.manifest.files).toEqual(model.files.map(({ path: p, size, sha256: d }) => ({ path: p, size, sha256: d })));
    expect(model.digest).toBe(`sha256:${sha256(canonicalManifestJson(model.manifest))}`);
    expect(model.omsRootDigest).toBe(omsRootDigest(model.files.map((f) => f.sha256)));
  });

  it('orders files by the UTF-8 bytes of their paths, not by path components or UTF-16 units', async () => {
    const names = ['z', 'é', 'a.txt', 'B', 'a-b', 'a/b', '\u{1F600}', '\uFF21'];
    writeTree(dir, Object.fromEntries(names.map((n) => [n, n])));

    const model = await scanModel(dir);

    // Python's component order would put 'a/b' first among the a's (reference/oms.md §2.4), and a
    // UTF-16 sort would put the astral U+1F600 before U+FF21; UTF-8 bytes do neither.
    expect(model.files.map((f) => f.path)).toEqual(['B', 'a-b', 'a.txt', 'a/b', 'z', 'é', '\uFF21', '\u{1F600}']);
    expect(omsResourcesFor(model).map((r) => r.name)).toEqual(model.files.map((f) => f.path));
  });

  it('skips .git, .gitattributes, .github and .gitignore at the top level only, with their subtrees', async () => {
    writeTree(dir, {
      '.git/HEAD': 'ref',
      '.git/objects/ab/cdef': 'x',
      '.github/workflows/ci.yml': 'on: push',
      '.gitattributes': '*.bin lfs',
      '.gitignore': '*.tmp',
      '.hidden': 'kept',
      'sub/.git/HEAD': 'kept',
      'sub/.gitignore': 'kept',
      'model.bin': 'm',
    });
    // A symlink inside an ignored subtree is never met.
    symlinkSync('/etc/passwd', path.join(dir, '.git', 'link'));

    const model = await scanModel(dir);

    expect(model.files.map((f) => f.path)).toEqual(['.hidden', 'model.bin', 'sub/.git/HEAD', 'sub/.gitignore']);
  });

  it('leaves out ignorePaths as exact paths or whole subtrees, without globbing', async () => {
    writeTree(dir, {
      'model.sig': 'sig',
      'cache/a': 'a',
      'cache/deep/b': 'b',
      'cache2/c': 'c',
      'keep/ignore-me': 'kept: the ignore path is top-level only',
      'ignore-me': '',
      'w.bin': 'w',
      'x*': 'not a glob',
    });
    symlinkSync('/etc/passwd', path.join(dir, 'cache', 'link'));

    const model = await scanModel(dir, { ignorePaths: ['model.sig', 'cache/', './ignore-me', path.join(dir, 'nothing-here'), '../outside', '*'] });

    expect(model.files.map((f) => f.path)).toEqual(['cache2/c', 'keep/ignore-me', 'w.bin', 'x*']);
  });

  it('rejects a symlink to a file and a symlink to a directory', async () => {
    writeTree(dir, { 'real/file': 'x', 'model.bin': 'm' });
    symlinkSync(path.join(dir, 'model.bin'), path.join(dir, 'alias.bin'));
    const fileLink = await expectCode(scanModel(dir), 'SYMLINK_NOT_ALLOWED');
    expect(fileLink.details).toEqual({ path: 'alias.bin' });

    unlinkSync(path.join(dir, 'alias.bin'));
    mkdirSync(path.join(dir, 'sub'));
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'sub', 'linked-dir'));
    const dirLink = await expectCode(scanModel(dir), 'SYMLINK_NOT_ALLOWED');
    expect(dirLink.details).toEqual({ path: 'sub/linked-dir' });
  });

  it('rejects a model root that is itself a symlink', async () => {
    writeTree(dir, { 'model/w.bin': 'w' });
    symlinkSync(path.join(dir, 'model'), path.join(dir, 'link'));
    await expectCode(scanModel(path.join(dir, 'link')), 'SYMLINK_NOT_ALLOWED');
  });

  it.each([
    ['a backslash', 'weights\\evil.bin'],
    ['a newline', 'weights\n.bin'],
    ['a DEL', 'weights\x7f.bin'],
  ])('rejects a file name with %s as INVALID_PATH', async (_label, name) => {
    writeTree(dir, { 'ok.bin': 'ok' });
    writeFileSync(path.join(dir, name), 'x');
    await expectCode(scanModel(dir), 'INVALID_PATH');
  });

  // Linux stores names as raw bytes; macOS and Windows refuse invalid UTF-8 names outright.
  it.skipIf(process.platform !== 'linux')('rejects a file name that is not valid UTF-8', async () => {
    writeTree(dir, { 'ok.bin': 'ok' });
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff, 0xfe])]), 'x');
    await expectCode(scanModel(dir), 'INVALID_PATH');
  });

  it('rejects a socket in the model as INVALID_PATH', async () => {
    writeTree(dir, { 'ok.bin': 'ok' });
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'sock'), resolve));
    try {
      const error = await expectCode(scanModel(dir), 'INVALID_PATH');
      expect(error.details).toEqual({ path: 'sock' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    }
  });

  it('rejects an empty directory, and one holding only empty directories and ignored files, as EMPTY_MODEL', async () => {
    await expectCode(scanModel(dir), 'EMPTY_MODEL');
    mkdirSync(path.join(dir, 'a/b/c'), { recursive: true });
    writeTree(dir, { '.gitignore': 'x', 'model.sig': 's' });
    await expectCode(scanModel(dir, { ignorePaths: ['model.sig'] }), 'EMPTY_MODEL');
  });

  it('reports a missing path as USAGE', async () => {
    await expectCode(scanModel(path.join(dir, 'missing')), 'USAGE');
  });

  it('validates concurrency eagerly', async () => {
    writeTree(dir, { 'a': 'a' });
    await expectCode(scanModel(dir, { concurrency: 0 }), 'USAGE');
    await expectCode(scanModel(dir, { concurrency: 1.5 }), 'USAGE');
  });
});

describe('scanModel on a single file', () => {
  it('names the one entry by its basename and the OMS resource "."', async () => {
    writeTree(dir, { 'model.safetensors': 'weights' });
    const file = path.join(dir, 'model.safetensors');

    const model = await scanModel(file);

    expect(model.singleFile).toBe(true);
    expect(model.root).toBe(file);
    expect(model.files).toEqual([{ path: 'model.safetensors', size: 7, sha256: sha256('weights'), absolutePath: file }]);
    expect(omsResourcesFor(model)).toEqual([{ name: '.', digest: sha256('weights') }]);
    expect(model.omsRootDigest).toBe(omsRootDigest([sha256('weights')]));
  });

  it('accepts an empty single file: one 0-byte entry is not an empty model', async () => {
    writeTree(dir, { empty: '' });
    const model = await scanModel(path.join(dir, 'empty'));
    expect(model.files.map((f) => [f.path, f.size, f.sha256])).toEqual([['empty', 0, sha256('')]]);
  });
});

describe('hashing', () => {
  it('streams large files in chunks, reports running progress, and hashes many small files in parallel', async () => {
    const big = Buffer.alloc(9 * 1024 * 1024 + 17, 1);
    const small = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`small/${String(i).padStart(2, '0')}`, `file ${i}`]));
    writeTree(dir, { 'big.bin': big, ...small });
    const total = big.length + Object.values(small).reduce((sum, s) => sum + Buffer.byteLength(s), 0);
    const progress: number[] = [];
    let scanned: { files: number; bytes: number } | undefined;

    const model = await scanModel(dir, { concurrency: 4, onProgress: (n) => progress.push(n), onScanned: (t) => (scanned = { ...t }) });

    expect(scanned).toEqual({ files: 41, bytes: total });
    expect(model.files.find((f) => f.path === 'big.bin')?.sha256).toBe(sha256(big));
    expect(model.files.filter((f) => f.path.startsWith('small/')).map((f) => f.sha256)).toEqual(Object.values(small).map((s) => sha256(s)));
    expect(progress.at(-1)).toBe(total);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    // More than one report for the big file: it was read in chunks, not whole.
    expect(progress.filter((n) => n <= big.length).length).toBeGreaterThan(1);
  });

  it('fails with VERIFICATION_FAILED when a file grows while it is hashed', async () => {
    const file = path.join(dir, 'big.bin');
    writeFileSync(file, Buffer.alloc(6 * 1024 * 1024));
    let appended = false;
    const error = await expectCode(
      scanModel(dir, {
        onProgress: () => {
          if (!appended) appendFileSync(file, 'more');
          appended = true;
        },
      }),
      'VERIFICATION_FAILED',
    );
    expect(error.message).toContain('file changed while hashing');
  });

  it('fails with VERIFICATION_FAILED when a file shrinks while it is hashed', async () => {
    const file = path.join(dir, 'big.bin');
    writeFileSync(file, Buffer.alloc(6 * 1024 * 1024));
    await expectCode(scanModel(dir, { onProgress: () => { truncateSync(file, 1024); } }), 'VERIFICATION_FAILED');
  });

  it('fails with VERIFICATION_FAILED when a file is rewritten in place, same size, while it is hashed', async () => {
    const file = path.join(dir, 'big.bin');
    writeFileSync(file, Buffer.alloc(6 * 1024 * 1024));
    // An old mtime, so the rewrite's new mtime differs whatever the filesystem's time granularity.
    utimesSync(file, new Date('2000-01-01'), new Date('2000-01-01'));
    let rewritten = false;
    const rewriteTail = (): void => {
      if (rewritten) return;
      rewritten = true;
      const fd = openSync(file, 'r+');
      try {
        writeSync(fd, Buffer.from('tampered'), 0, 8, 5 * 1024 * 1024);
      } finally {
        closeSync(fd);
      }
    };
    await expectCode(scanModel(dir, { onProgress: rewriteTail }), 'VERIFICATION_FAILED');
  });

  it('lets the event loop run while it hashes many small files synchronously', async () => {
    writeTree(dir, Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`d${i % 30}/f${i}`, `content ${i}`])));
    let hashedWhenTimerRan: number | undefined;
    let hashed = 0;
    const onProgress = (n: number): void => {
      // Armed once hashing has begun: it can only run if the scan yields before its end.
      if (hashed === 0) {
        setImmediate(() => {
          hashedWhenTimerRan = hashed;
        });
      }
      hashed = n;
    };
    const model = await scanModel(dir, { onProgress });
    const total = model.files.reduce((sum, f) => sum + f.size, 0);
    // The callback ran during the scan, not only after the last file.
    expect(hashedWhenTimerRan).toBeDefined();
    expect(hashedWhenTimerRan).toBeLessThan(total);
  });

  // Files smaller than one read buffer take the synchronous path: the same checks must hold there.
  it('fails with VERIFICATION_FAILED when a small file grows, or is rewritten in place, while it is hashed', async () => {
    const file = path.join(dir, 'small.bin');
    writeFileSync(file, Buffer.alloc(512 * 1024));
    let appended = false;
    await expectCode(
      scanModel(dir, {
        onProgress: () => {
          if (!appended) appendFileSync(file, 'more');
          appended = true;
        },
      }),
      'VERIFICATION_FAILED',
    );
    writeFileSync(file, Buffer.alloc(512 * 1024));
    utimesSync(file, new Date('2000-01-01'), new Date('2000-01-01'));
    let rewritten = false;
    await expectCode(
      scanModel(dir, {
        onProgress: () => {
          if (rewritten) return;
          rewritten = true;
          const fd = openSync(file, 'r+');
          try {
            writeSync(fd, Buffer.from('tampered'), 0, 8, 1024);
          } finally {
            closeSync(fd);
          }
        },
      }),
      'VERIFICATION_FAILED',
    );
  });

  it('fails when a file is replaced between the walk and the read', async () => {
    writeTree(dir, { 'a.bin': 'aaaa', 'b.bin': 'bbbb' });
    const error = await expectCode(
      scanModel(dir, {
        onScanned: () => {
          // Same name and size, different inode: what the walk saw is gone.
          writeFileSync(path.join(dir, 'a.tmp'), 'AAAA');
          renameSync(path.join(dir, 'a.tmp'), path.join(dir, 'a.bin'));
        },
      }),
      'VERIFICATION_FAILED',
    );
    expect(error.details).toEqual({ path: 'a.bin' });
  });

  it('refuses a file swapped for a symlink between the walk and the read', async () => {
    writeTree(dir, { 'a.bin': 'aaaa', 'outside/secret': 'ssss' });
    await expectCode(
      scanModel(path.join(dir, 'a.bin'), {
        onScanned: () => {
          unlinkSync(path.join(dir, 'a.bin'));
          symlinkSync(path.join(dir, 'outside/secret'), path.join(dir, 'a.bin'));
        },
      }),
      'SYMLINK_NOT_ALLOWED',
    );
  });
});

describe('the rename attack (SPEC §10)', () => {
  it('changes the manifest digest but not the OMS root when a file is renamed or moved', async () => {
    writeTree(dir, { 'weights.safetensors': 'tensor bytes', 'config.json': '{}' });
    const original = await scanModel(dir);

    renameSync(path.join(dir, 'weights.safetensors'), path.join(dir, 'weights.pkl'));
    const renamed = await scanModel(dir);

    mkdirSync(path.join(dir, 'other'));
    renameSync(path.join(dir, 'weights.pkl'), path.join(dir, 'other', 'weights.pkl'));
    const moved = await scanModel(dir);

    expect(renamed.omsRootDigest).toBe(original.omsRootDigest);
    expect(moved.omsRootDigest).toBe(original.omsRootDigest);
    expect(renamed.digest).not.toBe(original.digest);
    expect(moved.digest).not.toBe(renamed.digest);
    expect(new Set([original, renamed, moved].map((m) => manifestDigest(m.manifest))).size).toBe(3);
  });
});
