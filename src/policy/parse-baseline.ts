/**
 * A server baseline (SPEC §6.1): requirements per environment that no policy can remove, written
 * like a document's `spec.attestations` — requirement name → `{predicateType, signers,
 * threshold?, message?}`. Read from server config, or from a file by `custody policy test
 * --baseline FILE` to test a document against the floor it will meet on the server.
 */
import { CustodyError, type ErrorCode } from '../domain/errors.js';
import type { Baseline } from './compile-policy.js';
import { normaliseRequirements } from './policy-document.js';
import { parsePolicyText } from './parse-policy-text.js';
import { requirementsSchema, validatePolicyValue } from './policy-schema.js';

/** A baseline file is at most this many bytes. */
const MAX_BASELINE_BYTES = 256 * 1024;

/** Validates a parsed baseline value; errors name the path (`training.signers: …`). */
export function parseBaseline(value: unknown, source = 'baseline', code: ErrorCode = 'CONFIG_INVALID'): Baseline {
  if (value === null || value === undefined) return {};
  return normaliseRequirements(validatePolicyValue(requirementsSchema, value, source, code));
}

/** Parses baseline text (YAML or JSON); errors are POLICY_INVALID naming `source`. */
export function parseBaselineText(text: string, source = 'baseline'): Baseline {
  const value = parsePolicyText(text, { maxBytes: MAX_BASELINE_BYTES, source, code: 'POLICY_INVALID' });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CustodyError('POLICY_INVALID', `${source}: a baseline maps requirement names to requirements`);
  }
  return parseBaseline(value, source, 'POLICY_INVALID');
}
