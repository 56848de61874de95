/**
 * Policy lifecycle (SPEC §6.2, issue 6 §3–4): a pushed document is parsed, compiled against the
 * environment's baseline and its embedded tests run (with the fixtures the pusher sends); a
 * failing test or a gate that does not compile rejects it with nothing stored. It is stored as
 * proposed; where the two-person rule applies a *different* principal with `policy:approve` must
 * approve it, and its tests run again at activation; elsewhere it is active at once. A pending
 * proposal may instead be rejected with a reason (issue 8 §1). Every step is a logged event
 * carrying the policy digest. The effective policy is baseline ∪ active policy.
 */
import { canonicalJson } from '../crypto/canonical-json.js';
import { isoNow, type Clock } from '../domain/clock.js';
import { CustodyError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { parseRejectionReason } from '../domain/rejection-reason.js';
import {
  compilePolicy,
  diffPolicies,
  formatPolicyDocument,
  parseBaseline,
  parsePolicyDocument,
  policyDigest,
  runPolicyTests,
  validatePolicyDocument,
  type Baseline,
  type CompiledPolicy,
  type PolicyDocument,
  type PolicyTestResult,
} from '../policy/index.js';
import type { MetadataReader, MetadataStore, MetadataTx, PolicyRecord } from '../store/metadata-store.js';
import type { Actor, AuthService } from './auth-service.js';
import { eventActor } from './event-actor.js';
import { receiptOf } from './identity-service.js';
import { BoundedMemo } from './bounded-memo.js';
import { sha256Hex } from '../domain/digest.js';
import type { Receipt, TransparencyLog } from './transparency-log.js';

export interface PolicySettings {
  readonly environments: readonly string[];
  readonly twoPerson: readonly string[];
  /** Baseline requirements per environment, as configured. */
  readonly baseline: Readonly<Record<string, { readonly attestations: unknown }>>;
  readonly timeLimitMs: number;
}

export interface PushPolicyRequest {
  /** The document as YAML or JSON text. */
  readonly document: string;
  /** Contents of the fixtures its tests name, keyed by the path the document writes. */
  readonly fixtures?: Readonly<Record<string, unknown>>;
}

export interface PolicyChange {
  readonly policy: PolicyRecord;
  readonly tests: readonly PolicyTestResult[];
  /** The receipt of the last event of the change (`policy.activated` when it became active). */
  readonly receipt: Receipt;
}

export interface EffectivePolicy {
  readonly environment: string;
  readonly active: PolicyRecord | null;
  readonly baseline: Baseline;
  readonly compiled: CompiledPolicy;
}

/** Most fixtures and bytes of fixtures one push may carry. */
const MAX_FIXTURES = 100;
const MAX_FIXTURE_TOTAL_BYTES = 4 * 1024 * 1024;
const HISTORY_LIMIT = 100;

/** The stored document of a policy record, re-validated (the database is not trusted blindly). */
export function storedDocument(record: PolicyRecord): PolicyDocument {
  let value: unknown;
  try {
    value = JSON.parse(record.document) as unknown;
  } catch (error) {
    throw new CustodyError('INTERNAL', 'a stored policy no longer parses', { cause: error, details: { policy: record.id } });
  }
  const doc = validatePolicyDocument(value, `policy ${record.id}`);
  if (policyDigest(doc) !== record.digest) throw new CustodyError('INTERNAL', 'a stored policy does not match its digest', { details: { policy: record.id } });
  return doc;
}

function testFailure(results: readonly PolicyTestResult[], when: string): CustodyError | undefined {
  const failed = results.filter((r) => !r.passed);
  if (failed.length === 0) return undefined;
  const names = failed.map((r) => `${r.name} (expected ${r.expected}, got ${r.outcome}${r.error === undefined ? '' : `: ${r.error}`})`);
  return new CustodyError('POLICY_TEST_FAILED', `${when}: ${failed.length} of the policy's tests failed: ${names.join('; ').slice(0, 2000)}`, {
    details: { failed: failed.map((r) => r.name) },
  });
}

export class PolicyService {
  /** Compiled effective policies by effective digest (compiling type-checks every gate). */
  readonly #compiled = new BoundedMemo<CompiledPolicy>(256);
  /** Parsed baselines by environment (the configuration does not change while running). */
  readonly #baselines = new Map<string, Baseline>();

  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly log: TransparencyLog,
    private readonly auth: AuthService,
    private readonly settings: PolicySettings,
  ) {
    for (const env of Object.keys(settings.baseline)) this.baselineOf(env);
  }

  /** The configured environments, first to last. */
  get environments(): readonly string[] {
    return this.settings.environments;
  }

  /** The configured baseline of an environment (CONFIG_INVALID when malformed). */
  baselineOf(environment: string): Baseline {
    let baseline = this.#baselines.get(environment);
    if (baseline === undefined) {
      baseline = parseBaseline(this.settings.baseline[environment]?.attestations, `baseline.${environment}.attestations`);
      this.#baselines.set(environment, baseline);
    }
    return baseline;
  }

  assertEnvironment(environment: string): void {
    if (!this.settings.environments.includes(environment)) {
      throw new CustodyError('NOT_FOUND', `there is no environment ${environment.slice(0, 64)}: the environments are ${this.settings.environments.join(', ')}`, {
        details: { environment: environment.slice(0, 64) },
      });
    }
  }

  /** Baseline ∪ the active policy of `environment`, read through `reader` (a transaction when deciding). */
  async effective(reader: MetadataReader, environment: string): Promise<EffectivePolicy> {
    this.assertEnvironment(environment);
    const active = (await reader.getActivePolicy(environment)) ?? null;
    const baseline = this.baselineOf(environment);
    // Validated and compiled once per stored content: the key covers the document's bytes.
    const key = `${environment}\n${active === null ? '-' : `${active.digest}\n${sha256Hex(active.document)}`}`;
    const compiled = this.#compiled.getOrSet(key, () => compilePolicy(active === null ? null : storedDocument(active), baseline));
    return { environment, active, baseline, compiled };
  }

  async push(actor: Actor, request: PushPolicyRequest): Promise<PolicyChange> {
    const doc = parsePolicyDocument(request.document, 'document');
    const environment = doc.metadata.environment;
    this.assertEnvironment(environment);
    this.auth.authorize(actor, 'policy:propose', { environment });
    const fixtures = this.#checkFixtures(request.fixtures ?? {});
    const baseline = this.baselineOf(environment);
    const tests = await runPolicyTests(doc, { baseline, fixtures, timeLimitMs: this.settings.timeLimitMs });
    const failure = testFailure(tests, 'rejected');
    if (failure !== undefined) throw failure;
    const digest = policyDigest(doc);
    const twoPerson = this.settings.twoPerson.includes(environment);

    return this.store.transaction(async (tx) => {
      await tx.lockPolicies(environment);
      const [latest] = await tx.listPolicies(environment, 1);
      const now = isoNow(this.clock);
      const [proposed] = await this.log.append(tx, [
        { v: 1, type: 'policy.proposed', time: now, actor: eventActor(actor), environment, number: (latest?.number ?? 0) + 1, digest, twoPerson },
      ]);
      const record: PolicyRecord = {
        id: newId(),
        environment,
        number: (latest?.number ?? 0) + 1,
        digest,
        document: canonicalJson(doc),
        fixtures: canonicalJson(fixtures),
        status: 'proposed',
        proposedBy: actor.principal.name,
        proposedAt: now,
        proposedLogIndex: receiptOf(proposed).logIndex,
        approvedBy: null,
        approvedAt: null,
        activatedAt: null,
        activatedLogIndex: null,
        endedAt: null,
      };
      await tx.insertPolicy(record);
      if (twoPerson) return { policy: record, tests, receipt: receiptOf(proposed) };
      return this.#activate(tx, actor, record, null, tests);
    });
  }

  async approve(actor: Actor, id: string): Promise<PolicyChange> {
    const proposed = await this.store.getPolicy(id);
    if (proposed === undefined) throw new CustodyError('NOT_FOUND', `no policy with id ${id.slice(0, 64)}`);
    this.auth.authorize(actor, 'policy:approve', { environment: proposed.environment });
    if (proposed.status !== 'proposed') throw new CustodyError('CONFLICT', `policy ${id} is ${proposed.status}, not proposed`);
    if (proposed.proposedBy === actor.principal.name) {
      throw new CustodyError('FORBIDDEN', 'the two-person rule: a policy must be approved by a principal other than the one who proposed it', {
        details: { rule: 'twoPersonPolicyChange' },
      });
    }
    // The tests run again at activation, against the baseline in force now.
    const doc = storedDocument(proposed);
    const fixtures = JSON.parse(proposed.fixtures) as Record<string, unknown>;
    const tests = await runPolicyTests(doc, { baseline: this.baselineOf(proposed.environment), fixtures, timeLimitMs: this.settings.timeLimitMs });
    const failure = testFailure(tests, 'not activated');
    if (failure !== undefined) throw failure;
    return this.store.transaction(async (tx) => {
      await tx.lockPolicies(proposed.environment);
      const current = await tx.getPolicy(id);
      if (current?.status !== 'proposed') throw new CustodyError('CONFLICT', `policy ${id} is no longer proposed`);
      const now = isoNow(this.clock);
      const [approved] = await this.log.append(tx, [
        { v: 1, type: 'policy.approved', time: now, actor: eventActor(actor), environment: current.environment, number: current.number, digest: current.digest, proposedBy: current.proposedBy },
      ]);
      receiptOf(approved);
      return this.#activate(tx, actor, current, actor.principal.name, tests);
    });
  }

  /**
   * Rejects a pending proposal with a reason (issue 8 §1): it never becomes active. Needs
   * `policy:approve` for its environment, as approving does. Its proposer may reject (withdraw)
   * its own proposal: the two-person rule guards activation, and a rejection activates nothing.
   * CONFLICT unless it is still proposed; the reason is logged in `policy.rejected` and kept.
   */
  async reject(actor: Actor, id: string, reason: string): Promise<PolicyChange> {
    const proposed = await this.store.getPolicy(id);
    if (proposed === undefined) throw new CustodyError('NOT_FOUND', `no policy with id ${id.slice(0, 64)}`);
    this.auth.authorize(actor, 'policy:approve', { environment: proposed.environment });
    const why = parseRejectionReason(reason);
    if (proposed.status !== 'proposed') throw new CustodyError('CONFLICT', `policy ${id} is ${proposed.status}, not proposed`);
    return this.store.transaction(async (tx) => {
      await tx.lockPolicies(proposed.environment);
      const current = await tx.getPolicy(id);
      if (current?.status !== 'proposed') throw new CustodyError('CONFLICT', `policy ${id} is no longer proposed`);
      const now = isoNow(this.clock);
      const [rejected] = await this.log.append(tx, [
        {
          v: 1,
          type: 'policy.rejected',
          time: now,
          actor: eventActor(actor),
          environment: current.environment,
          number: current.number,
          digest: current.digest,
          policy: current.id,
          proposedBy: current.proposedBy,
          reason: why,
        },
      ]);
      const receipt = receiptOf(rejected);
      const rejection = { by: actor.principal.name, reason: why, logIndex: receipt.logIndex };
      await tx.transitionPolicy(current.id, { from: 'proposed', to: 'rejected', at: now, rejection });
      return { policy: { ...current, status: 'rejected', endedAt: now, rejection }, tests: [], receipt };
    });
  }

  /** Makes `record` the active policy of its environment, superseding the previous one, in `tx`. */
  async #activate(tx: MetadataTx, actor: Actor, record: PolicyRecord, approvedBy: string | null, tests: readonly PolicyTestResult[]): Promise<PolicyChange> {
    const now = isoNow(this.clock);
    const previous = (await tx.getActivePolicy(record.environment)) ?? null;
    const [activated] = await this.log.append(tx, [
      {
        v: 1,
        type: 'policy.activated',
        time: now,
        actor: eventActor(actor),
        environment: record.environment,
        number: record.number,
        digest: record.digest,
        previous: previous?.digest ?? null,
        proposedBy: record.proposedBy,
        approvedBy,
      },
    ]);
    const receipt = receiptOf(activated);
    if (previous !== null) await tx.transitionPolicy(previous.id, { from: 'active', to: 'superseded', at: now });
    await tx.transitionPolicy(record.id, { from: 'proposed', to: 'active', at: now, activatedLogIndex: receipt.logIndex, ...(approvedBy === null ? {} : { approvedBy }) });
    const policy: PolicyRecord = { ...record, status: 'active', activatedAt: now, activatedLogIndex: receipt.logIndex, ...(approvedBy === null ? {} : { approvedBy, approvedAt: now }) };
    return { policy, tests, receipt };
  }

  /** `policy show ENV`: the active document, the baseline and the effective digest. */
  async show(environment: string): Promise<EffectivePolicy & { readonly document: string | null }> {
    const effective = await this.effective(this.store, environment);
    return { ...effective, document: effective.active === null ? null : formatPolicyDocument(storedDocument(effective.active)) };
  }

  /** `policy history ENV`: versions newest first, each with the diff from the one before it. */
  async history(environment: string): Promise<{ policy: PolicyRecord; diff: string }[]> {
    this.assertEnvironment(environment);
    const records = await this.store.listPolicies(environment, HISTORY_LIMIT);
    const oldestFirst = [...records].reverse();
    const out: { policy: PolicyRecord; diff: string }[] = [];
    let before: PolicyDocument | null = null;
    for (const record of oldestFirst) {
      const doc = storedDocument(record);
      out.push({ policy: record, diff: diffPolicies(before, doc) });
      before = doc;
    }
    return out.reverse();
  }

  listProposed(): Promise<readonly PolicyRecord[]> {
    return this.store.listProposedPolicies();
  }

  #checkFixtures(fixtures: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const entries = Object.entries(fixtures);
    if (entries.length > MAX_FIXTURES) throw new CustodyError('VALIDATION_FAILED', `at most ${MAX_FIXTURES} fixtures`, { details: { field: 'fixtures' } });
    if (Buffer.byteLength(canonicalJson(fixtures)) > MAX_FIXTURE_TOTAL_BYTES) throw new CustodyError('VALIDATION_FAILED', 'the fixtures are too large', { details: { field: 'fixtures' } });
    return Object.fromEntries(entries);
  }
}
