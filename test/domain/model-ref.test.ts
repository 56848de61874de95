import { describe, expect, it } from 'vitest';
import { parseModelName, parseModelRef } from '../../src/domain/model-ref.js';

const HEX = 'ab'.repeat(32);

describe('model references', () => {
  it('parses numbers, digests and environments', () => {
    expect(parseModelRef('fraud/detector@v3')).toEqual({ namespace: 'fraud', name: 'detector', selector: { kind: 'number', number: 3 } });
    expect(parseModelRef(`fraud/detector@sha256:${HEX}`).selector).toEqual({ kind: 'digest', digest: `sha256:${HEX}` });
    expect(parseModelRef('fraud/detector@production').selector).toEqual({ kind: 'environment', environment: 'production' });
  });

  it('defaults the namespace', () => {
    expect(parseModelName('detector')).toEqual({ namespace: 'default', name: 'detector' });
  });

  it.each(['Fraud/detector@v1', 'a/b/c@v1', 'fraud/detector', 'fraud/detector@v0', 'fraud/detector@sha256:ABC', `fraud/detector@sha256:${HEX}0`, 'fraud/@v1', `fraud/${'x'.repeat(129)}@v1`, '../x@v1'])(
    'rejects %j with INVALID_REFERENCE or INVALID_DIGEST',
    (text) => {
      expect(() => parseModelRef(text)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^INVALID_(REFERENCE|DIGEST)$/) as unknown }));
    },
  );
});
