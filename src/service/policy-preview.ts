/**
 * "What would change" (reference/ui-screens.md §2.4): before a second policy admin activates a
 * proposed policy, the versions whose verdict would flip under it. Two groups are judged, each
 * with the active policy and with the proposal seen as active (`withPolicyActive`), through the
 * same evaluation as real decisions and writing nothing:
 *   - the placements in the proposal's environment, judged where they are (as after a key
 *     revocation: `requireFrom` is not held against them) — a flip to deny means the placement
 *     would no longer pass there;
 *   - the versions in the environment before it, the candidates for promotion into it — a flip
 *     says whether promoting them would be allowed.
 * Bounded: at most `limit` placements of each group are judged, and the result says how many;
 * with `namespaces`, only placements in those namespaces (what the viewer may read).
 */
import type { Evaluation } from '../policy/index.js';
import type { AliasRecord, MetadataReader, PolicyRecord, VersionRecord } from '../store/metadata-store.js';
import type { Actor } from './auth-service.js';
import { withPolicyActive } from './reader-overrides.js';

/** Evaluates `version` for `environment` through `reader` (PromotionService.evaluateThrough). */
export type EvaluateThrough = (reader: MetadataReader, actor: Actor, version: VersionRecord, environment: string, options: { ignoreRequireFrom?: boolean }) => Promise<Evaluation>;

/** One judged version: where it is, and its verdict now and under the proposal. */
export interface PolicyImpact {
  /** `placed`: in the proposal's environment; `candidate`: in the environment before it. */
  readonly kind: 'placed' | 'candidate';
  readonly alias: AliasRecord;
  readonly version: VersionRecord;
  readonly now: Evaluation['outcome'];
  readonly proposed: Evaluation['outcome'];
  /** The checks that would not pass under the proposal (`name RESULT: message (detail)`). */
  readonly failures: readonly string[];
}

export interface PolicyPreview {
  /** Every judged version, flipped or not. */
  readonly judged: number;
  /** True when an environment held more placements than `limit`: only the first were judged. */
  readonly truncated: boolean;
  /** The versions whose verdict flips, placed ones first. */
  readonly changes: readonly PolicyImpact[];
}

export const DEFAULT_PREVIEW_LIMIT = 100;

function failuresOf(evaluation: Evaluation, kind: PolicyImpact['kind']): string[] {
  const checks = [...evaluation.requirements.filter((r) => kind === 'candidate' || r.source !== 'requireFrom'), ...evaluation.gates];
  return checks.filter((c) => c.result !== 'PASS').map((c) => `${c.name} ${c.result}: ${c.message}${'detail' in c && c.detail !== undefined ? ` (${c.detail})` : ''}`);
}

/** The preview of activating `proposal` (a proposed policy) as `actor` would see it. */
export async function previewPolicyChange(
  store: MetadataReader,
  evaluate: EvaluateThrough,
  environments: readonly string[],
  actor: Actor,
  proposal: PolicyRecord,
  options: { readonly limit?: number; readonly namespaces?: readonly string[] | null } = {},
): Promise<PolicyPreview> {
  const limit = options.limit ?? DEFAULT_PREVIEW_LIMIT;
  const readable = options.namespaces ?? null;
  const position = environments.indexOf(proposal.environment);
  const proposed = withPolicyActive(store, proposal);
  const groups: { kind: PolicyImpact['kind']; environment: string }[] = [{ kind: 'placed', environment: proposal.environment }];
  const before = position > 0 ? environments[position - 1] : undefined;
  if (before !== undefined) groups.push({ kind: 'candidate', environment: before });
  const changes: PolicyImpact[] = [];
  let judged = 0;
  let truncated = false;
  for (const group of groups) {
    const listed = await store.listAliasesInEnvironment(group.environment, limit + 1);
    if (listed.length > limit) truncated = true;
    // Only what the viewer may read is judged and shown (the first `limit` placements, then filtered).
    const aliases = listed.slice(0, limit).filter((a) => readable === null || readable.includes(a.namespace));
    for (const alias of aliases) {
      const version = await store.getVersionByDigest(alias.namespace, alias.name, alias.versionDigest);
      if (version === undefined) continue;
      const options = { ignoreRequireFrom: group.kind === 'placed' };
      const [nowResult, proposedResult] = await Promise.all([
        evaluate(store, actor, version, proposal.environment, options),
        evaluate(proposed, actor, version, proposal.environment, options),
      ]);
      judged++;
      if (nowResult.outcome !== proposedResult.outcome) {
        changes.push({ kind: group.kind, alias, version, now: nowResult.outcome, proposed: proposedResult.outcome, failures: failuresOf(proposedResult, group.kind) });
      }
    }
  }
  return { judged, truncated, changes };
}
