/**
 * Unit tests of the version manifest rules (SPEC §4.1): path safety, duplicates, the manifest
 * digest over canonical JSON, and the OMS root digest byte layout (reference/oms.md §1.5).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EMPTY_SHA256 } from '../../src/domain/digest.js';
import { CustodyError, type ErrorCode } from '../../src/domain/errors.js';
import {
  assertSafePath,
  canonicalManifestJson,
  comparePaths,
  manifestDigest,
  manifestOmsRoot,
  omsRootDigest,
  toManifest,
  totalSize,
  type ManifestFile,
} from '../../src/domain/manifest.js';

const SIGNME_1 = 'f6310066c7320497ea554260c32c43660bff648cb2a61194832cc086077085e1';
const SIGNME_1_NL = 'bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc';
const SIGNME_2 = '32dcb1f8e1ae52d5963e56a6ba06ab58b424c15ed2a6b70d2feca1d089370028';

function sha256(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}

function codeOf(fn: () => unknown): ErrorCode | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof CustodyError) return error.code;
    throw error;
  }
  return undefined;
}

function file(path: string, content = path): ManifestFile {
  return { path, size: Buffer.byteLength(content), sha256: sha256(content) };
}

describe('assertSafePath', () => {
  it.each([
    'model.bin',
    'a/b/c.safetensors',
    '.hidden',
    '..dots',
    'a/.../b',
    'tokenizer/vocab.json',
    'modèle/权重 1.bin',
    '\u{1F600}.bin',
    'x'.repeat(255),
    `${'d'.repeat(255)}/${'e'.repeat(255)}`,
  ])('accepts %j', (path) => {
    expect(() => { assertSafePath(path); }).not.toThrow();
  });

  it.each([
    ['empty', ''],
    ['absolute', '/etc/passwd'],
    ['parent at start', '../x'],
    ['parent inside', 'a/../b'],
    ['parent alone', '..'],
    ['dot segment', './a'],
    ['dot inside', 'a/./b'],
    ['dot alone', '.'],
    ['empty segment', 'a//b'],
    ['trailing slash', 'a/'],
    ['backslash', 'a\\b'],
    ['windows absolute', 'C:\\x'],
    ['NUL', 'a\u0000b'],
    ['newline', 'a\nb'],
    ['tab', 'a\tb'],
    ['escape', 'a\u001bb'],
    ['DEL', 'a\u007fb'],
    ['C1 NEL', 'a\u0085b'],
    ['C1 CSI', 'a\u009bb'],
    ['lone high surrogate', 'a\ud800b'],
    ['lone low surrogate', 'a\udc00'],
    ['segment over 255 bytes', 'x'.repeat(256)],
    ['segment over 255 bytes in UTF-8', 'é'.repeat(128)],
    ['path over 4096 bytes', Array.from({ length: 20 }, () => 'y'.repeat(250)).join('/')],
  ])('rejects %s', (_label, path) => {
    expect(codeOf(() => { assertSafePath(path); })).toBe('INVALID_PATH');
  });

  it('does not echo control characters raw in the error details', () => {
    try {
      assertSafePath('evil\u001b[2Jname');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CustodyError);
      expect(JSON.stringify((error as CustodyError).details)).not.toContain('\u001b');
    }
  });
});

describe('comparePaths', () => {
  it('orders by UTF-8 bytes', () => {
    const paths = ['z', 'é', 'a.txt', 'B', 'a-b', 'a/b', '\u{1F600}', '\uFF21'];
    expect([...paths].sort(comparePaths)).toEqual(['B', 'a-b', 'a.txt', 'a/b', 'z', 'é', '\uFF21', '\u{1F600}']);
    expect(comparePaths('a', 'a')).toBe(0);
    expect(comparePaths('a', 'ab')).toBeLessThan(0);
  });
});

describe('toManifest', () => {
  it('sorts into canonical order and keeps only path, size and digest', () => {
    const extra = { ...file('b'), absolutePath: '/tmp/b' };
    const manifest = toManifest([extra, file('a/z'), file('a-z')]);
    expect(manifest.files.map((f) => f.path)).toEqual(['a-z', 'a/z', 'b']);
    expect(manifest.files[2]).toEqual(file('b'));
  });

  it('rejects an unsafe path', () => {
    expect(codeOf(() => toManifest([file('ok'), file('../escape')]))).toBe('INVALID_PATH');
  });

  it('rejects duplicate paths', () => {
    expect(codeOf(() => toManifest([file('w.bin', 'one'), file('w.bin', 'two')]))).toBe('DUPLICATE_PATH');
  });

  it('rejects paths that differ only in case when paths are case-insensitive, and accepts them otherwise', () => {
    const files = [file('Weights.bin'), file('weights.bin')];
    expect(codeOf(() => toManifest(files, { caseInsensitive: true }))).toBe('DUPLICATE_PATH');
    expect(codeOf(() => toManifest([file('dir/A'), file('DIR/a')], { caseInsensitive: true }))).toBe('DUPLICATE_PATH');
    expect(toManifest(files).files).toHaveLength(2);
  });

  it.each([
    ['a negative size', { path: 'a', size: -1, sha256: EMPTY_SHA256 }, 'VALIDATION_FAILED'],
    ['a fractional size', { path: 'a', size: 1.5, sha256: EMPTY_SHA256 }, 'VALIDATION_FAILED'],
    ['an unsafe-integer size', { path: 'a', size: 2 ** 53, sha256: EMPTY_SHA256 }, 'VALIDATION_FAILED'],
    ['an upper-case digest', { path: 'a', size: 0, sha256: EMPTY_SHA256.toUpperCase() }, 'INVALID_DIGEST'],
    ['a short digest', { path: 'a', size: 0, sha256: 'abcd' }, 'INVALID_DIGEST'],
    ['a prefixed digest', { path: 'a', size: 0, sha256: `sha256:${EMPTY_SHA256}` }, 'INVALID_DIGEST'],
  ] as const)('rejects %s', (_label, entry, code) => {
    expect(codeOf(() => toManifest([entry]))).toBe(code);
  });

  it('accepts an empty list (the scanner, not the manifest, rejects empty models)', () => {
    expect(toManifest([]).files).toEqual([]);
  });
});

describe('manifestDigest', () => {
  it('is the SHA-256 of the exact canonical JSON, keys digest, path, size, no whitespace', () => {
    const manifest = toManifest([
      { path: 'weights/model.safetensors', size: 8, sha256: SIGNME_2 },
      { path: 'config.json', size: 9, sha256: SIGNME_1_NL },
    ]);
    const expected =
      '{"files":[' +
      `{"digest":"${SIGNME_1_NL}","path":"config.json","size":9},` +
      `{"digest":"${SIGNME_2}","path":"weights/model.safetensors","size":8}` +
      ']}';

    expect(canonicalManifestJson(manifest)).toBe(expected);
    expect(manifestDigest(manifest)).toBe(`sha256:${sha256(expected)}`);
  });

  it('hashes non-ASCII paths as raw UTF-8 (JCS does not escape them)', () => {
    const manifest = toManifest([{ path: 'é', size: 0, sha256: EMPTY_SHA256 }]);
    const expected = `{"files":[{"digest":"${EMPTY_SHA256}","path":"é","size":0}]}`;
    expect(canonicalManifestJson(manifest)).toBe(expected);
    expect(manifestDigest(manifest)).toBe(`sha256:${createHash('sha256').update(Buffer.from(expected, 'utf8')).digest('hex')}`);
  });

  it('binds names, sizes and digests', () => {
    const base = manifestDigest(toManifest([{ path: 'w.safetensors', size: 8, sha256: SIGNME_2 }]));
    expect(manifestDigest(toManifest([{ path: 'w.pkl', size: 8, sha256: SIGNME_2 }]))).not.toBe(base);
    expect(manifestDigest(toManifest([{ path: 'w.safetensors', size: 9, sha256: SIGNME_2 }]))).not.toBe(base);
    expect(manifestDigest(toManifest([{ path: 'w.safetensors', size: 8, sha256: SIGNME_1 }]))).not.toBe(base);
  });
});

describe('omsRootDigest (reference/oms.md §1.5)', () => {
  it('is SHA-256 over the raw digests concatenated in order', () => {
    expect(omsRootDigest([SIGNME_1, SIGNME_2])).toBe('sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226');
    expect(omsRootDigest([SIGNME_1_NL, SIGNME_2])).toBe('sha256:92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4');
  });

  it('of a single resource is the SHA-256 of its raw digest', () => {
    expect(omsRootDigest([SIGNME_1_NL])).toBe('sha256:afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b');
  });

  it('of nothing is the SHA-256 of nothing', () => {
    expect(omsRootDigest([])).toBe(`sha256:${EMPTY_SHA256}`);
  });

  it('depends on order but not on names', () => {
    expect(omsRootDigest([SIGNME_2, SIGNME_1])).not.toBe(omsRootDigest([SIGNME_1, SIGNME_2]));
    const a = toManifest([{ path: 'signme-1', size: 8, sha256: SIGNME_1 }, { path: 'signme-2', size: 8, sha256: SIGNME_2 }]);
    const b = toManifest([{ path: 'a', size: 8, sha256: SIGNME_1 }, { path: 'b/renamed', size: 8, sha256: SIGNME_2 }]);
    expect(manifestOmsRoot(a)).toBe(manifestOmsRoot(b));
    expect(manifestOmsRoot(a)).toBe('sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226');
    expect(manifestDigest(a)).not.toBe(manifestDigest(b));
  });
});

describe('totalSize', () => {
  it('sums file sizes', () => {
    expect(totalSize(toManifest([file('a', 'xyz'), file('b', '')]))).toBe(3);
  });
});
