/**
 * The promotion half of `admin verify-store` (issue 6; SPEC §10 "insider edits the database"):
 * every stored alias, decision, policy and active quarantine must be what replaying the log's
 * events gives (`store-promotion-replay.ts`) — none missing, none extra, fields equal — and each
 * stored policy document must hash to its digest (`store-policy-check.ts`). Models and versions
 * are paged through; each version's decisions and active quarantines are read with one query each.
 *
 * A record tied to a log entry the log check already reported (missing, unreadable, edited or
 * moved) is not reported again: that entry is the problem, and what it implies cannot be trusted.
 * The store exposes only the quarantines still active, so a deleted quarantine and one cleared
 * without an allowed decision look alike here (both `quarantine-missing`).
 */
import { z } from 'zod';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { AliasRecord, DecisionRecord, MetadataReader, QuarantineRecord, VersionRecord } from '../store/metadata-store.js';
import { atIndex, atRecord, describeError, type ReportProblem } from './store-problems.js';
import { checkPolicies } from './store-policy-check.js';
import { aliasKey, differences, reportedByLogCheck, type LoggedDecision, type LoggedPlacement, type PromotionCheckContext, type PromotionReplay } from './store-promotion-replay.js';
import { splitModel } from './transparency-log.js';

const PAGE = 1000;
/** Most rows one promotion list returns (the store's bound). */
const MAX_ROWS = 10_000;

const resultsSchema = z.looseObject({
  requirements: z.array(z.looseObject({ name: z.string(), result: z.string() })),
  gates: z.array(z.looseObject({ name: z.string(), result: z.string() })),
});

export type { PromotionCheckContext } from './store-promotion-replay.js';

/**
 * Compares every stored alias, decision, policy and active quarantine with `replay` (which it
 * consumes), reporting each difference; throws only when the store cannot be read at all.
 */
export async function checkPromotions(store: MetadataReader, replay: PromotionReplay, context: PromotionCheckContext, report: ReportProblem): Promise<void> {
  const check = new PromotionCheck(store, replay, context, report);
  await check.models();
  await check.leftovers();
  await checkPolicies(store, replay, context, report);
}

/** The kind, name and result of each requirement and gate in a decision's stored results, as the event lists them. */
function checksOf(results: string): string {
  try {
    const parsed = resultsSchema.safeParse(JSON.parse(results));
    if (!parsed.success) return 'unparseable';
    const { requirements, gates } = parsed.data;
    return canonicalJson([...requirements.map((r) => ({ kind: 'requirement', name: r.name, result: r.result })), ...gates.map((g) => ({ kind: 'gate', name: g.name, result: g.result }))]);
  } catch {
    return 'unparseable';
  }
}

class PromotionCheck {
  /** `model\ndigest` of versions whose decisions or quarantines could not be read. */
  readonly #unreadableVersions = new Set<string>();
  readonly #unreadableModels = new Set<string>();
  /** Set when the model list itself could not be read: then no row was seen, and none is reported missing. */
  #modelsUnreadable = false;
  readonly #unloggedDecisions: { row: DecisionRecord; version: VersionRecord }[] = [];

  constructor(
    private readonly store: MetadataReader,
    private readonly replay: PromotionReplay,
    private readonly context: PromotionCheckContext,
    private readonly report: ReportProblem,
  ) {}

  #explained(index: number): boolean {
    return reportedByLogCheck(this.replay, this.context, index);
  }

  #unreadable(record: string, what: string, error: unknown): void {
    this.report(atRecord('promotion-unreadable', record, `${what} cannot be read: ${describeError(error)}`));
  }

  /** Pages through every model: its aliases, and each version's decisions and active quarantines. */
  async models(): Promise<void> {
    let cursor: string | undefined;
    do {
      let page;
      try {
        page = await this.store.listModels({ limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
      } catch (error) {
        this.#unreadable('models', 'the model list', error);
        this.#modelsUnreadable = true;
        return;
      }
      for (const { namespace, name } of page.items) {
        const model = `${namespace}/${name}`;
        await this.#aliases(model, namespace, name);
        let versionCursor: string | undefined;
        do {
          try {
            const versions = await this.store.listVersions(namespace, name, { limit: PAGE, ...(versionCursor === undefined ? {} : { cursor: versionCursor }) });
            for (const version of versions.items) {
              await this.#decisions(model, version);
              await this.#quarantines(model, version);
            }
            versionCursor = versions.nextCursor ?? undefined;
          } catch (error) {
            this.#unreadable(model, `the versions of ${model}`, error);
            this.#unreadableModels.add(model);
            versionCursor = undefined;
          }
        } while (versionCursor !== undefined);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  async #aliases(model: string, namespace: string, name: string): Promise<void> {
    let rows: readonly AliasRecord[];
    try {
      rows = await this.store.listAliases(namespace, name);
    } catch (error) {
      this.#unreadable(model, `the aliases of ${model}`, error);
      this.#unreadableModels.add(model);
      return;
    }
    for (const row of rows) {
      const record = `${model}@${row.environment}`;
      const key = aliasKey(model, row.environment);
      const logged = this.replay.aliases.get(key);
      this.replay.aliases.delete(key);
      if (logged !== undefined) await this.#compareAlias(row, logged, record);
      else if (!this.#explained(row.logIndex)) {
        this.report(atIndex('alias-unlogged', row.logIndex, `${record} holds ${row.versionDigest}, but no logged registration or allowed promotion placed ${model} in ${row.environment}`, record));
      }
    }
  }

  async #compareAlias(row: AliasRecord, logged: LoggedPlacement, record: string): Promise<void> {
    if (this.context.distrusted.has(logged.index)) return;
    const version = await this.#placedVersion(logged);
    // A placed version that is not stored is the version check's finding (version-event-orphaned).
    if (version === undefined) return;
    const found = differences(
      { version: row.versionDigest, versionId: row.versionId, decision: row.decisionId, logIndex: row.logIndex, since: row.since },
      { version: logged.digest, versionId: version.id, decision: logged.decisionId, logIndex: logged.index, since: logged.time },
    );
    if (found.length > 0) this.report(atIndex('alias-mismatch', logged.index, `${record} is not what log entry ${logged.index} put there: ${found.join(', ')}`, record));
  }

  /** The stored version a placement names: by number, or by digest when the number was edited (as the version check pairs them). */
  async #placedVersion(logged: { readonly model: string; readonly number: number; readonly digest: string }): Promise<VersionRecord | undefined> {
    const [namespace, name] = splitModel(logged.model);
    if (namespace === null || name === null) return undefined;
    return (await this.store.getVersionByNumber(namespace, name, logged.number)) ?? (await this.store.getVersionByDigest(namespace, name, logged.digest));
  }

  async #decisions(model: string, version: VersionRecord): Promise<void> {
    let rows: readonly DecisionRecord[];
    try {
      rows = await this.store.listDecisions(version.id, MAX_ROWS);
    } catch (error) {
      this.#unreadable(`${model}@v${version.number}`, `the decisions of ${model}@v${version.number}`, error);
      this.#unreadableVersions.add(`${model}\n${version.digest}`);
      return;
    }
    for (const row of rows) {
      const logged = this.replay.decisions.get(row.id);
      if (logged === undefined) {
        this.#unloggedDecisions.push({ row, version });
        continue;
      }
      this.replay.decisions.delete(row.id);
      this.#compareDecision(row, logged, version);
    }
  }

  #compareDecision(row: DecisionRecord, logged: LoggedDecision, version: VersionRecord | undefined): void {
    if (this.context.distrusted.has(logged.index)) return;
    const found = differences(
      {
        id: row.id,
        model: `${row.namespace}/${row.name}`,
        version: row.versionDigest,
        environment: row.environment,
        outcome: row.outcome,
        policyDigest: row.policyDigest,
        effectiveDigest: row.effectiveDigest,
        inputDigest: row.inputDigest,
        logIndex: row.logIndex,
        decidedAt: row.decidedAt,
        principal: row.principal,
        principalKind: row.principalKind,
        vsa: row.vsa === null ? 'none' : 'present',
      },
      {
        id: logged.id,
        model: logged.model,
        version: logged.digest,
        environment: logged.environment,
        outcome: logged.outcome,
        policyDigest: logged.policyDigest,
        effectiveDigest: logged.effectiveDigest,
        inputDigest: logged.inputDigest,
        logIndex: logged.index,
        decidedAt: logged.time,
        principal: logged.principal,
        principalKind: logged.principalKind,
        vsa: logged.outcome === 'allow' ? 'present' : 'none',
      },
    );
    // The row hangs off a version row; one whose digest and number both differ is another version.
    if (version !== undefined && version.digest !== logged.digest && version.number !== logged.number) {
      found.push(`stored under ${version.namespace}/${version.name}@v${version.number} (log: ${logged.model}@v${logged.number})`);
    }
    if (checksOf(row.results) !== logged.checks) found.push('results (the requirement and gate results differ from the logged checks)');
    if (found.length > 0) {
      this.report(atIndex('decision-mismatch', logged.index, `decision ${logged.id} differs from log entry ${logged.index}: ${found.join(', ')}`, `decision ${logged.id}`));
    }
  }

  async #quarantines(model: string, version: VersionRecord): Promise<void> {
    let rows: readonly QuarantineRecord[];
    try {
      rows = await this.store.listActiveQuarantines(version.id);
    } catch (error) {
      this.#unreadable(`${model}@v${version.number}`, `the quarantines of ${model}@v${version.number}`, error);
      this.#unreadableVersions.add(`${model}\n${version.digest}`);
      return;
    }
    for (const row of rows) {
      const record = `${model}@v${version.number} in ${row.environment}`;
      const logged = this.replay.quarantines.get(row.logIndex);
      if (logged === undefined) {
        if (!this.#explained(row.logIndex)) {
          this.report(atIndex('quarantine-unlogged', row.logIndex, `quarantine ${row.id} of ${record} names log entry ${row.logIndex}, which quarantines nothing`, record));
        }
        continue;
      }
      this.replay.quarantines.delete(row.logIndex);
      if (this.context.distrusted.has(logged.index)) continue;
      const found = differences({ environment: row.environment, reason: row.reason, since: row.since }, { environment: logged.environment, reason: logged.reason, since: logged.time });
      if (version.digest !== logged.digest && version.number !== logged.number) found.push(`version ${model}@v${version.number} (log: ${logged.model}@v${logged.number})`);
      if (logged.clearedBy !== null) found.push(`active, though decision ${logged.clearedBy.id} at log entry ${logged.clearedBy.index} cleared it`);
      if (found.length > 0) this.report(atIndex('quarantine-mismatch', logged.index, `quarantine ${row.id} of ${record} differs from log entry ${logged.index}: ${found.join(', ')}`, record));
    }
  }

  /** What the log implies but no listed row matched: missing rows, or rows the listing could not reach. */
  async leftovers(): Promise<void> {
    if (this.#modelsUnreadable) return;
    for (const logged of this.replay.aliases.values()) {
      if (this.context.distrusted.has(logged.index) || this.#unreadableModels.has(logged.model)) continue;
      if ((await this.#placedVersion(logged)) === undefined) continue;
      const record = `${logged.model}@${logged.environment}`;
      this.report(atIndex('alias-missing', logged.index, `log entry ${logged.index} put ${logged.model}@v${logged.number} (${logged.digest}) in ${logged.environment}, but ${record} is not stored`, record));
    }

    // A row whose id was edited still names its event by log index: report the pair, not two problems.
    const byIndex = new Map([...this.replay.decisions.values()].map((d) => [d.index, d]));
    for (const { row, version } of this.#unloggedDecisions) {
      const logged = byIndex.get(row.logIndex);
      if (logged !== undefined) {
        this.replay.decisions.delete(logged.id);
        this.#compareDecision(row, logged, version);
      } else if (!this.#explained(row.logIndex)) {
        this.report(atIndex('decision-unlogged', row.logIndex, `decision ${row.id} (${row.outcome} ${row.namespace}/${row.name}@v${version.number} to ${row.environment}) has no promotion.decided event in the log`, `decision ${row.id}`));
      }
    }
    for (const logged of this.replay.decisions.values()) {
      if (this.context.distrusted.has(logged.index) || this.#unreadableVersions.has(`${logged.model}\n${logged.digest}`) || this.#unreadableModels.has(logged.model)) continue;
      await this.#unlistedDecision(logged);
    }

    for (const logged of this.replay.quarantines.values()) {
      // Cleared quarantines are not listed (the store shows only active ones): nothing to compare.
      if (logged.clearedBy !== null || this.context.distrusted.has(logged.index)) continue;
      if (this.#unreadableVersions.has(`${logged.model}\n${logged.digest}`) || this.#unreadableModels.has(logged.model)) continue;
      const record = `${logged.model}@v${logged.number} in ${logged.environment}`;
      this.report(
        atIndex('quarantine-missing', logged.index, `log entry ${logged.index} quarantined ${record} and no allowed decision cleared it, but it is not active in the store (deleted, or cleared without a decision)`, record),
      );
    }
  }

  /** A logged decision no version listing returned: read by id (beyond a listing's bound), else missing. */
  async #unlistedDecision(logged: LoggedDecision): Promise<void> {
    const record = `decision ${logged.id}`;
    let row: DecisionRecord | undefined;
    try {
      row = await this.store.getDecision(logged.id);
    } catch (error) {
      this.#unreadable(record, record, error);
      return;
    }
    if (row !== undefined) this.#compareDecision(row, logged, undefined);
    else this.report(atIndex('decision-missing', logged.index, `log entry ${logged.index} decided ${logged.outcome} for ${logged.model}@v${logged.number} to ${logged.environment}, but ${record} is not stored`, record));
  }
}
