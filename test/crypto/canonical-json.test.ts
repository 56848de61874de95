/**
 * RFC 8785 (JCS) canonical JSON: the examples of the RFC itself (§3.2.2 serialisation, §3.2.3
 * sorting, Appendix B numbers) and the refusals that keep a leaf encoding unambiguous.
 * Spec: https://www.rfc-editor.org/rfc/rfc8785
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, MAX_CANONICAL_JSON_DEPTH } from '../../src/crypto/canonical-json.js';
import { CustodyError } from '../../src/domain/errors.js';

function expectRejected(value: unknown, message: RegExp): void {
  let caught: unknown;
  try {
    canonicalJson(value);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CustodyError);
  expect((caught as CustodyError).code).toBe('VALIDATION_FAILED');
  expect((caught as CustodyError).message).toMatch(message);
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
}

describe('canonicalJson (RFC 8785)', () => {
  it('serialises the RFC 8785 §3.2.2 example byte for byte', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  it('sorts object keys by UTF-16 code units, as in the RFC 8785 §3.2.3 example', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // The emoji (surrogates D83D DE00) sorts before U+FB33: code units, not code points.
    const expected =
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
      '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    expect(canonicalJson(input)).toBe(expected);
  });

  // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical serialisation.
  const appendixB: readonly (readonly [string, string])[] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  it.each(appendixB)('serialises the double 0x%s as %s (Appendix B)', (bits, expected) => {
    const value = Buffer.from(bits, 'hex').readDoubleBE(0);
    expect(canonicalJson(value)).toBe(expected);
    expect(canonicalJson([value])).toBe(`[${expected}]`);
  });

  it.each([
    ['7fffffffffffffff', 'NaN'],
    ['7ff0000000000000', 'Infinity'],
    ['fff0000000000000', '-Infinity'],
  ])('rejects the non-finite double 0x%s (%s), as Appendix B requires', (bits) => {
    expectRejected({ n: Buffer.from(bits, 'hex').readDoubleBE(0) }, /\$\.n: .* is not a JSON number/);
  });

  it('emits no whitespace and sorts nested objects, keeping array order', () => {
    const value = { b: [3, { z: 1, a: [] }, 'x'], a: { d: null, c: true, e: false }, '': {} };
    expect(canonicalJson(value)).toBe('{"":{},"a":{"c":true,"d":null,"e":false},"b":[3,{"a":[],"z":1},"x"]}');
  });

  it('escapes strings as ECMAScript JSON.stringify does and leaves other characters raw', () => {
    expect(canonicalJson('\u0000\u0008\t\n\u000b\f\r\u001f"\\/\u007f\u2028é')).toBe(
      '"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\\"\\\\/\u007f\u2028é"',
    );
  });

  it('accepts a null-prototype object and repeated (acyclic) references', () => {
    const shared = { x: 1 };
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: shared, a: shared });
    expect(canonicalJson(bare)).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('round-trips through JSON.parse to an equal value', () => {
    const value = { version: 1, actor: { principal: 'alice', kind: 'user', via: 'token' }, ratio: 0.1, list: [-0.5, 1e-7, 'ü'] };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('rejects undefined, functions, symbols and bigint wherever they appear', () => {
    expectRejected(undefined, /\$: a undefined is not a JSON value/);
    expectRejected({ a: undefined }, /\$\.a: a undefined/);
    expectRejected([1, undefined], /\$\[1\]: a undefined/);
    expectRejected({ f: () => 1 }, /\$\.f: a function/);
    expectRejected([Symbol('s')], /\$\[0\]: a symbol/);
    expectRejected({ n: 10n }, /\$\.n: a bigint/);
  });

  it('rejects array holes', () => {
    expectRejected([1, , 3], /\$\[1\]: a undefined/); // eslint-disable-line no-sparse-arrays
  });

  it('rejects Dates, Maps, Buffers and class instances instead of silently rewriting them', () => {
    class Point {
      x = 1;
    }
    for (const value of [new Date(0), new Map([['a', 1]]), Buffer.from('x'), new Point()]) {
      expectRejected({ v: value }, /only plain objects and arrays/);
    }
  });

  it('rejects cycles through objects and arrays', () => {
    const object: Record<string, unknown> = { a: 1 };
    object['self'] = object;
    expectRejected(object, /\$\.self: a cycle/);
    const array: unknown[] = [];
    array.push({ back: array });
    expectRejected(array, /\$\[0\]\.back: a cycle/);
  });

  it('rejects lone surrogates in values and in keys', () => {
    expectRejected({ s: 'a\ud800b' }, /\$\.s: string contains a lone UTF-16 surrogate/);
    expectRejected({ s: '\udc00' }, /lone UTF-16 surrogate/);
    expectRejected({ ['k\ud83d']: 1 }, /key: string contains a lone UTF-16 surrogate/);
    expect(canonicalJson('\ud83d\ude00')).toBe('"\ud83d\ude00"');
  });

  it(`accepts ${MAX_CANONICAL_JSON_DEPTH} levels of nesting and rejects one more`, () => {
    expect(() => canonicalJson(nested(MAX_CANONICAL_JSON_DEPTH))).not.toThrow();
    expectRejected(nested(MAX_CANONICAL_JSON_DEPTH + 1), /nested deeper than 64 levels/);
  });

  it('rejects a million levels of nesting with a typed error, not a stack overflow', () => {
    expectRejected(nested(1_000_000), /nested deeper than 64 levels/);
  });
});
