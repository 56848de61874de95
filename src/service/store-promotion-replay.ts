/**
 * The promotion state the transparency log implies (SPEC §2, §6, §10 "insider edits the
 * database"), for `admin verify-store`: fed every well-formed event in log order, it replays
 * where each alias points (the later of the registration into the first environment and the
 * last allowed `promotion.decided`), every decision, each policy's lifecycle (proposed, active,
 * superseded by a later activation, or rejected with a reason) and each quarantine with the allowed decision that cleared
 * it. `store-promotion-check.ts` compares the stored rows with it. It keeps one small record per
 * decision, policy, quarantine and alias, and one bit per log entry.
 */
import { z } from 'zod';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { LoggedEvent } from './store-log-check.js';
import { atIndex, type ReportProblem } from './store-problems.js';

/** What placed a version in an environment: a registration (no decision) or an allowed decision. */
export interface LoggedPlacement {
  readonly index: number;
  readonly time: string;
  readonly model: string;
  readonly environment: string;
  readonly digest: string;
  readonly number: number;
  readonly decisionId: string | null;
}

/** A `promotion.decided` event, with the fields its decision row must repeat. */
export interface LoggedDecision {
  readonly index: number;
  readonly id: string;
  readonly time: string;
  readonly model: string;
  readonly digest: string;
  readonly number: number;
  readonly environment: string;
  readonly outcome: 'allow' | 'deny';
  readonly policyDigest: string | null;
  readonly effectiveDigest: string;
  readonly inputDigest: string;
  readonly principal: string;
  readonly principalKind: string;
  /** Canonical JSON of the event's `checks` (kind, name and result of each requirement and gate). */
  readonly checks: string;
}

/** One policy as its `policy.*` events leave it. */
export interface LoggedPolicy {
  readonly environment: string;
  readonly number: number;
  readonly digest: string;
  readonly proposedLogIndex: number;
  readonly proposedAt: string;
  readonly proposedBy: string;
  status: 'proposed' | 'active' | 'superseded' | 'rejected';
  approvedBy: string | null;
  activatedLogIndex: number | null;
  activatedAt: string | null;
  endedAt: string | null;
  /** Set by its `policy.rejected` event: who, why, at which log index. */
  rejection: { readonly by: string; readonly reason: string; readonly logIndex: number } | null;
}

/** A `version.quarantined` event and the allowed decision that cleared it, if one did. */
export interface LoggedQuarantine {
  readonly index: number;
  readonly time: string;
  readonly model: string;
  readonly digest: string;
  readonly number: number;
  readonly environment: string;
  readonly reason: string;
  clearedBy: { readonly id: string; readonly index: number } | null;
}

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const count = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const text = z.string().min(1);
const actor = z.looseObject({ principal: z.string(), kind: z.string() });
const registered = z.looseObject({ model: text, number: count, digest, environment: text.optional() });
const decided = z.looseObject({
  actor,
  model: text,
  version: digest,
  number: count,
  environment: text,
  outcome: z.enum(['allow', 'deny']),
  decision: text,
  policyDigest: digest.nullable(),
  effectiveDigest: digest,
  inputDigest: digest,
  checks: z.array(z.looseObject({ kind: z.string(), name: z.string(), result: z.string() })),
});
const policyEvent = z.looseObject({ actor, environment: text, number: count, digest });
const activated = policyEvent.extend({ approvedBy: z.string().nullable().optional() });
const rejected = policyEvent.extend({ reason: text });
const quarantined = z.looseObject({ model: text, version: digest, number: count, environment: text, reason: z.string() });

/** What the log check left for the promotion checks to know. */
export interface PromotionCheckContext {
  /** The log's size: an index below it that the replay never saw was reported by the log check. */
  readonly logSize: number;
  /** Log indexes the log check reported (edited, moved, malformed entries). */
  readonly distrusted: ReadonlySet<number>;
}

/**
 * True when the log check already reported entry `index` (missing, unreadable, edited, moved): a
 * record naming it is not reported again.
 */
export function reportedByLogCheck(replay: PromotionReplay, context: PromotionCheckContext, index: number): boolean {
  return index < context.logSize && (context.distrusted.has(index) || !replay.observed(index));
}

type Fields = Readonly<Record<string, string | number | null>>;

/** `field stored (log: logged)` for each field that differs between a row and its events. */
export function differences(stored: Fields, logged: Fields): string[] {
  return Object.keys(logged)
    .filter((field) => stored[field] !== logged[field])
    .map((field) => `${field} ${String(stored[field])} (log: ${String(logged[field])})`);
}

/** Key of one model's alias in one environment. */
export function aliasKey(model: string, environment: string): string {
  return `${model}\n${environment}`;
}

/** Key of one environment's policy number. */
export function policyKey(environment: string, number: number): string {
  return `${environment}\n${number}`;
}

/** Key of one version (by digest) in one environment. */
function placementKey(model: string, versionDigest: string, environment: string): string {
  return `${model}\n${versionDigest}\n${environment}`;
}

export class PromotionReplay {
  /** Where each alias must point, by `aliasKey`. */
  readonly aliases = new Map<string, LoggedPlacement>();
  /** Every logged decision, by decision id. */
  readonly decisions = new Map<string, LoggedDecision>();
  /** Every logged policy, by `policyKey`. */
  readonly policies = new Map<string, LoggedPolicy>();
  /** Every logged quarantine, by log index. */
  readonly quarantines = new Map<number, LoggedQuarantine>();
  /** Every environment an event names (policy rows are listed per environment). */
  readonly environments = new Set<string>();
  readonly #uncleared = new Map<string, LoggedQuarantine[]>();
  readonly #active = new Map<string, LoggedPolicy>();
  #observed = new Uint8Array(1024);

  constructor(private readonly report: ReportProblem) {}

  /** True when log entry `index` was a readable, canonical, well-formed event. */
  observed(index: number): boolean {
    return ((this.#observed[index >> 3] ?? 0) & (1 << (index & 7))) !== 0;
  }

  /** Feeds one well-formed event; events must come in log order. */
  readonly observe = (index: number, event: LoggedEvent): void => {
    this.#markObserved(index);
    switch (event.type) {
      case 'version.registered':
        this.#registered(index, event);
        break;
      case 'promotion.decided':
        this.#decided(index, event);
        break;
      case 'policy.proposed':
        this.#proposed(index, event);
        break;
      case 'policy.approved':
        this.#approved(index, event);
        break;
      case 'policy.activated':
        this.#activated(index, event);
        break;
      case 'policy.rejected':
        this.#rejected(index, event);
        break;
      case 'version.quarantined':
        this.#quarantined(index, event);
        break;
      default:
        break;
    }
  };

  #markObserved(index: number): void {
    if (index >> 3 >= this.#observed.length) {
      const grown = new Uint8Array(Math.max(this.#observed.length * 2, (index >> 3) + 1));
      grown.set(this.#observed);
      this.#observed = grown;
    }
    this.#observed[index >> 3] = (this.#observed[index >> 3] ?? 0) | (1 << (index & 7));
  }

  #parse<T extends z.ZodType>(schema: T, index: number, event: LoggedEvent): z.output<T> | undefined {
    const parsed = schema.safeParse(event);
    if (parsed.success) return parsed.data;
    this.report(atIndex('event-malformed', index, `log entry ${index} is a ${event.type} event without valid ${parsed.error.issues[0]?.path.join('.') ?? 'fields'}`));
    return undefined;
  }

  #registered(index: number, event: LoggedEvent): void {
    // A registration without valid fields is reported by the log check; older ones name no environment.
    const parsed = registered.safeParse(event);
    if (!parsed.success || parsed.data.environment === undefined) return;
    const { model, number, environment } = parsed.data;
    this.environments.add(environment);
    this.aliases.set(aliasKey(model, environment), { index, time: event.time, model, environment, digest: parsed.data.digest, number, decisionId: null });
  }

  #decided(index: number, event: LoggedEvent): void {
    const e = this.#parse(decided, index, event);
    if (e === undefined) return;
    this.environments.add(e.environment);
    const first = this.decisions.get(e.decision);
    if (first !== undefined) {
      this.report(atIndex('decision-mismatch', index, `log entry ${index} logs decision ${e.decision} again (first at log entry ${first.index})`, `decision ${e.decision}`));
      return;
    }
    this.decisions.set(e.decision, {
      index,
      id: e.decision,
      time: event.time,
      model: e.model,
      digest: e.version,
      number: e.number,
      environment: e.environment,
      outcome: e.outcome,
      policyDigest: e.policyDigest,
      effectiveDigest: e.effectiveDigest,
      inputDigest: e.inputDigest,
      principal: e.actor.principal,
      principalKind: e.actor.kind,
      checks: canonicalJson(e.checks.map((c) => ({ kind: c.kind, name: c.name, result: c.result }))),
    });
    if (e.outcome !== 'allow') return;
    this.aliases.set(aliasKey(e.model, e.environment), { index, time: event.time, model: e.model, environment: e.environment, digest: e.version, number: e.number, decisionId: e.decision });
    // An allowed promotion clears the version's quarantines in that environment (promotion-service.ts).
    const key = placementKey(e.model, e.version, e.environment);
    for (const q of this.#uncleared.get(key) ?? []) q.clearedBy = { id: e.decision, index };
    this.#uncleared.delete(key);
  }

  #proposed(index: number, event: LoggedEvent): void {
    const e = this.#parse(policyEvent, index, event);
    if (e === undefined) return;
    this.environments.add(e.environment);
    const key = policyKey(e.environment, e.number);
    const first = this.policies.get(key);
    if (first !== undefined) {
      this.report(atIndex('policy-mismatch', index, `log entry ${index} proposes policy ${e.environment} #${e.number} again (first at log entry ${first.proposedLogIndex})`, policyRecord(e)));
      return;
    }
    this.policies.set(key, {
      environment: e.environment,
      number: e.number,
      digest: e.digest,
      proposedLogIndex: index,
      proposedAt: event.time,
      proposedBy: e.actor.principal,
      status: 'proposed',
      approvedBy: null,
      activatedLogIndex: null,
      activatedAt: null,
      endedAt: null,
      rejection: null,
    });
  }

  #approved(index: number, event: LoggedEvent): void {
    const e = this.#parse(policyEvent, index, event);
    if (e !== undefined) this.#proposal(index, e, 'approves');
  }

  #activated(index: number, event: LoggedEvent): void {
    const e = this.#parse(activated, index, event);
    if (e === undefined) return;
    const policy = this.#proposal(index, e, 'activates');
    if (policy === undefined) return;
    const previous = this.#active.get(e.environment);
    if (previous !== undefined) {
      previous.status = 'superseded';
      previous.endedAt = event.time;
    }
    policy.status = 'active';
    policy.activatedLogIndex = index;
    policy.activatedAt = event.time;
    policy.approvedBy = e.approvedBy ?? null;
    this.#active.set(e.environment, policy);
  }

  #rejected(index: number, event: LoggedEvent): void {
    const e = this.#parse(rejected, index, event);
    if (e === undefined) return;
    const policy = this.#proposal(index, e, 'rejects');
    if (policy === undefined) return;
    policy.status = 'rejected';
    policy.endedAt = event.time;
    policy.rejection = { by: e.actor.principal, reason: e.reason, logIndex: index };
  }

  /** The proposed policy an approval, activation or rejection names, or undefined (reported) when the log has none. */
  #proposal(index: number, e: z.output<typeof policyEvent>, verb: string): LoggedPolicy | undefined {
    const policy = this.policies.get(policyKey(e.environment, e.number));
    const record = policyRecord(e);
    if (policy?.status !== 'proposed' || policy.digest !== e.digest) {
      const why = policy === undefined ? 'no such policy was proposed' : policy.status !== 'proposed' ? `it is already ${policy.status}` : `it was proposed with digest ${policy.digest}`;
      this.report(atIndex('policy-mismatch', index, `log entry ${index} ${verb} ${record} (${e.digest}) but ${why}`, record));
      return undefined;
    }
    return policy;
  }

  #quarantined(index: number, event: LoggedEvent): void {
    const e = this.#parse(quarantined, index, event);
    if (e === undefined) return;
    this.environments.add(e.environment);
    const q: LoggedQuarantine = { index, time: event.time, model: e.model, digest: e.version, number: e.number, environment: e.environment, reason: e.reason, clearedBy: null };
    this.quarantines.set(index, q);
    const key = placementKey(e.model, e.version, e.environment);
    const uncleared = this.#uncleared.get(key);
    if (uncleared === undefined) this.#uncleared.set(key, [q]);
    else uncleared.push(q);
  }
}

/** How a policy is named in problems: `policy staging #2`. */
export function policyRecord(p: { readonly environment: string; readonly number: number }): string {
  return `policy ${p.environment} #${p.number}`;
}
