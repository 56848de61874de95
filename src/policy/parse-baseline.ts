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

/**
 * Parses baseline text (YAML or JSON) for `environment`, in any of three shapes:
 * - requirement name → requirement (like a document's `spec.attestations`);
 * - `{attestations: {…}}` (one environment's entry of the server config's `baseline`);
 * - environment → `{attestations: {…}}` (the server config's whole `baseline` section), from
 *   which `environment`'s entry is taken (none: an empty baseline).
 * `attestations` can never name a requirement, so the shapes cannot be confused.
 * Errors are POLICY_INVALID naming `source` and the path.
 */
export function parseBaselineText(text: string, environment: string, source = 'baseline'): Baseline {
  const value = parsePolicyText(text, { maxBytes: MAX_BASELINE_BYTES, source, code: 'POLICY_INVALID' });
  if (!isRecord(value)) throw new CustodyError('POLICY_INVALID', `${source}: a baseline maps requirement names to requirements`);
  if (Object.hasOwn(value, 'attestations')) return parseBaseline(value['attestations'], `${source}: attestations`, 'POLICY_INVALID');
  const entries = Object.values(value);
  if (entries.length > 0 && entries.every((entry) => isRecord(entry) && Object.keys(entry).length === 1 && Object.hasOwn(entry, 'attestations'))) {
    const entry = value[environment];
    return isRecord(entry) ? parseBaseline(entry['attestations'], `${source}: ${environment}.attestations`, 'POLICY_INVALID') : {};
  }
  return parseBaseline(value, source, 'POLICY_INVALID');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
