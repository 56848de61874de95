/**
 * Baseline files for `custody policy test --baseline` (SPEC §6.1): a bare requirement map, one
 * environment's `{attestations}` or the server config's whole `baseline` section, all validated
 * like a document's requirements.
 */
import { describe, expect, it } from 'vitest';
import { parseBaselineText } from '../../src/policy/parse-baseline.js';

const TRAINING = { predicateType: 'https://slsa.dev/provenance/v1', signers: ['training-cluster'], threshold: 1 };

describe('parseBaselineText', () => {
  it('reads a bare map of requirements, filling the default threshold', () => {
    expect(parseBaselineText('training: {predicateType: https://slsa.dev/provenance/v1, signers: [training-cluster]}', 'production')).toEqual({ training: TRAINING });
  });

  it('reads one environment\'s entry of the server config', () => {
    expect(parseBaselineText(JSON.stringify({ attestations: { training: TRAINING } }), 'production')).toEqual({ training: TRAINING });
  });

  it('takes the document\'s environment from the server config\'s baseline section, and nothing for another', () => {
    const section = 'production: {attestations: {training: {predicateType: https://slsa.dev/provenance/v1, signers: [training-cluster]}}}\nstaging: {attestations: {}}\n';
    expect(parseBaselineText(section, 'production')).toEqual({ training: TRAINING });
    expect(parseBaselineText(section, 'staging')).toEqual({});
    expect(parseBaselineText(section, 'development')).toEqual({});
  });

  it('refuses malformed baselines with POLICY_INVALID naming the path', () => {
    expect(() => parseBaselineText('[1, 2]', 'production', 'b.yaml')).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }) as Error);
    expect(() => parseBaselineText('training: {predicateType: x, signers: []}', 'production', 'b.yaml')).toThrow(/b\.yaml: training\.predicateType: .*training\.signers: must name at least one signer/);
    expect(() => parseBaselineText('now: {predicateType: "https://a/b", signers: [a]}', 'production', 'b.yaml')).toThrow(/now: requirement name "now" is reserved/);
    expect(() => parseBaselineText('production: {attestations: {training: {predicateType: "https://a/b", signers: [a], extra: 1}}}', 'production', 'b.yaml')).toThrow(/production\.attestations.*training: unknown key\(s\) extra/);
  });
});
