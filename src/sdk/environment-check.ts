/**
 * What `pull NS/NAME@ENV` checks before a byte is fetched (SPEC §2, §8, §10 "stolen signing
 * key"): the environment's placement names exactly the version being pulled; a quarantined
 * placement is refused with its reason; a placement made by a promotion decision carries a VSA
 * that verifies with the pinned VSA key for this digest and this environment
 * (`promotion/vsa.ts`), names that decision, and — with a log witness — the decision is a logged
 * `promotion.decided` allow. The first environment is reached by registration, which issues no
 * VSA; with a witness, a placement without a decision is accepted only for the environment the
 * logged `version.registered` event names, so a registry cannot skip the VSA by dropping the
 * decision from a later environment's placement. Every refusal is VERIFICATION_FAILED (exit 4).
 */
import { z } from 'zod';
import { parsePublicKey } from '../crypto/signing-keys.js';
import { sha256Hex } from '../domain/digest.js';
import { CustodyError } from '../domain/errors.js';
import type { ModelRef } from '../domain/model-ref.js';
import { VSA_PROMOTION_FIELD, verifyVsa } from '../promotion/vsa.js';
import type { CustodyClient } from './custody-client.js';
import type { LogWitness } from './log-witness.js';
import type { DecisionBody, EnvironmentRecordBody } from './promotion-api.js';
import type { VersionBody } from './responses.js';

/** The pinned VSA public key (SPKI PEM), or a function giving it when a VSA has to be verified (e.g. pinned on first use). */
export type VsaKeySource = string | (() => Promise<string>);

/** How a version came to be where `NS/NAME@ENV` points, as checked. */
export interface EnvironmentPlacement {
  readonly environment: string;
  readonly digest: string;
  readonly number: number;
  readonly placedBy:
    | {
        readonly kind: 'decision';
        readonly decision: string;
        readonly principal: string;
        readonly decidedAt: string;
        /** The `promotion.decided` entry; proven in the log when a witness was given. */
        readonly logIndex: number;
        readonly logProven: boolean;
        /** The verified VSA: `sha256:` of its bundle text, the key it verified with, and what it states. */
        readonly vsa: { readonly digest: string; readonly keyId: string; readonly policyDigest: string; readonly timeVerified: string };
      }
    | {
        readonly kind: 'registration';
        /** True when the logged `version.registered` event names this environment (with a witness); false when unchecked. */
        readonly logProven: boolean;
      };
}

const decidedEvent = z
  .object({ type: z.literal('promotion.decided'), model: z.string(), version: z.string(), environment: z.string(), outcome: z.string(), decision: z.string() })
  .loose();
const registeredEvent = z.object({ type: z.literal('version.registered'), environment: z.string().optional() }).loose();

// Control characters, and the Unicode line and bidi controls that can disguise terminal text
// (the same set as the CLI's displayText: a reason the server wrote ends up on a terminal).
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function printable(text: string, max = 300): string {
  const safe = text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}

function fail(message: string, details: Record<string, unknown>): never {
  throw new CustodyError('VERIFICATION_FAILED', message, { details });
}

/**
 * Checks the placement `ref` (an `@environment` reference) resolved to, for `version` (what the
 * server resolved it to). `vsaKey` is needed when the placement came from a decision; `witness`
 * proves the decision (or the registration) in the log.
 * @throws CustodyError VERIFICATION_FAILED naming the quarantine, the VSA check or the mismatch.
 */
export async function checkEnvironmentPlacement(
  client: CustodyClient,
  ref: ModelRef,
  version: VersionBody,
  options: { vsaKey?: VsaKeySource; witness?: LogWitness },
): Promise<EnvironmentPlacement> {
  if (ref.selector.kind !== 'environment') throw new CustodyError('USAGE', 'only an NS/NAME@<environment> reference has an environment placement');
  const environment = ref.selector.environment;
  const model = `${ref.namespace}/${ref.name}`;
  const where = `${model}@${environment} (${version.digest})`;
  const record = await client.promotion.environmentRecord(ref, environment);
  if (record.model !== model || record.environment !== environment) {
    fail(`the registry answered for ${printable(record.model)}@${printable(record.environment)} when asked about ${model}@${environment}`, { check: 'placement' });
  }
  if (record.version !== version.digest) {
    fail(`${environment} holds ${record.version} by its placement, but the registry served ${version.digest} for ${model}@${environment} (if it was just promoted, pull again)`, {
      check: 'placement',
      placement: record.version,
    });
  }
  if (record.quarantines.length > 0) {
    const reasons = record.quarantines.map((q) => `${printable(q.reason)} (since ${printable(q.since, 40)}, log entry ${q.logIndex})`).join('; ');
    fail(`${where} is quarantined: ${reasons}`, { check: 'quarantine', quarantines: record.quarantines });
  }
  const base = { environment, digest: version.digest, number: version.number };
  if (record.decision === null) return { ...base, placedBy: { kind: 'registration', logProven: await provenRegistration(client, version, environment, where, options.witness) } };
  return { ...base, placedBy: await verifiedDecision(client, record, record.decision, version, where, options) };
}

/** With a witness: the logged registration must have placed the version in `environment`. */
async function provenRegistration(client: CustodyClient, version: VersionBody, environment: string, where: string, witness: LogWitness | undefined): Promise<boolean> {
  if (witness === undefined) return false;
  const index = version.registration?.logIndex;
  if (index === undefined || index === null) return fail(`${where}: the registry names no log entry for the registration`, { check: 'registration' });
  const parsed = registeredEvent.safeParse((await witness.verifyEntry(client, index, 'the registration')).event);
  const placed = parsed.success ? parsed.data.environment : undefined;
  if (placed !== environment) {
    fail(
      `${where} has no promotion decision, so no VSA, but the logged registration (entry ${index}) placed the version in ${placed === undefined ? 'no environment' : printable(placed, 80)}: only the first environment is reached without a decision`,
      { check: 'registration' },
    );
  }
  return true;
}

async function verifiedDecision(
  client: CustodyClient,
  record: EnvironmentRecordBody,
  decision: DecisionBody,
  version: VersionBody,
  where: string,
  options: { vsaKey?: VsaKeySource; witness?: LogWitness },
): Promise<Extract<EnvironmentPlacement['placedBy'], { kind: 'decision' }>> {
  const environment = record.environment;
  if (decision.outcome !== 'allow' || decision.version !== version.digest || decision.environment !== environment || decision.model !== record.model) {
    fail(`${where}: the decision that placed it (${printable(decision.id, 80)}) is not an allowed promotion of this version into ${environment}`, { check: 'decision', decision: decision.id });
  }
  if (decision.vsa === null) fail(`${where}: the decision that placed it (${printable(decision.id, 80)}) carries no VSA`, { check: 'vsa', decision: decision.id });
  const pinned = typeof options.vsaKey === 'function' ? await options.vsaKey() : options.vsaKey;
  if (pinned === undefined) fail(`${where}: no VSA key is pinned to verify its VSA with (custody login pins it)`, { check: 'vsa-key' });
  const verified = verifyVsa(decision.vsa, { publicKey: pinned, expectedDigest: version.digest, expectedEnvironment: environment });
  const promotion = verified.statement.predicate[VSA_PROMOTION_FIELD] as { decisionId?: unknown } | undefined;
  if (promotion?.decisionId !== decision.id) {
    fail(`${where}: the VSA names decision ${printable(String(promotion?.decisionId), 80)}, not the decision that placed it (${printable(decision.id, 80)})`, { check: 'vsa' });
  }
  const witness = options.witness;
  if (witness !== undefined) {
    const parsed = decidedEvent.safeParse((await witness.verifyEntry(client, decision.logIndex, 'the promotion decision')).event);
    const e = parsed.success ? parsed.data : undefined;
    if (e?.decision !== decision.id || e.outcome !== 'allow' || e.version !== version.digest || e.environment !== environment || e.model !== record.model) {
      fail(`${where}: log entry ${decision.logIndex} is not the promotion.decided allow of decision ${printable(decision.id, 80)}`, { check: 'decision-log' });
    }
  }
  return {
    kind: 'decision',
    decision: decision.id,
    principal: decision.principal,
    decidedAt: decision.decidedAt,
    logIndex: decision.logIndex,
    logProven: witness !== undefined,
    vsa: { digest: `sha256:${sha256Hex(decision.vsa)}`, keyId: parsePublicKey(pinned).keyId, policyDigest: verified.facts.policyDigest, timeVerified: verified.facts.timeVerified },
  };
}

