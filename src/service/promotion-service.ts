/**
 * Gated promotion (SPEC §2, §6.1, §10 "race / TOCTOU"): one serialised transaction locks the
 * model, reads the environment's alias, the version's attestations with their keys, the
 * environments the version is in and the effective policy, evaluates it, stores the decision,
 * logs `promotion.decided`, and on allow moves the alias, clears the version's quarantine there
 * and issues a signed VSA — all of it or none of it. What the decision read is exactly what it
 * decided on: an attestation or key change committed meanwhile waits for the lock or is not seen.
 * `evaluate` shows the same evaluation without deciding.
 */
import { openAttestation, verifyAttestationSignature } from '../crypto/attestation.js';
import { subjectSha256s } from '../crypto/in-toto-statement.js';
import { parsePublicKey } from '../crypto/signing-keys.js';
import { isoNow, type Clock } from '../domain/clock.js';
import { CustodyError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { ModelName, VersionSelector } from '../domain/model-ref.js';
import { extractTrainingProvenance } from '../domain/provenance.js';
import { OMS_PREDICATE_TYPE } from '../oms/oms-statement.js';
import { evaluatePolicy, type CandidateAttestation, type Evaluation, type PolicyInput } from '../policy/index.js';
import { signVsa } from '../promotion/vsa.js';
import type { VsaKey } from '../promotion/vsa-key.js';
import type { AliasRecord, DecisionRecord, MetadataReader, MetadataStore, MetadataTx, PolicyRecord, QuarantineRecord, SignerKeyRecord, VersionRecord } from '../store/metadata-store.js';
import { attestationViews, type AttestationView } from './attestation-service.js';
import type { Actor, AuthService } from './auth-service.js';
import { MAX_BUNDLE_BYTES } from './attestation-intake.js';
import { eventActor } from './event-actor.js';
import { BoundedMemo } from './bounded-memo.js';
import { sha256Hex } from '../domain/digest.js';
import { receiptOf } from './identity-service.js';
import { previewPolicyChange, type PolicyPreview } from './policy-preview.js';
import { withKeyRevoked } from './reader-overrides.js';
import type { PolicyService } from './policy-service.js';
import type { RegistryService } from './registry-service.js';
import type { Receipt, TransparencyLog } from './transparency-log.js';

export interface PromoteRequest {
  readonly model: ModelName;
  readonly selector: VersionSelector;
  readonly environment: string;
  /** Compare-and-swap: the digest the environment must hold now (`none` for an empty environment). */
  readonly expectCurrent?: string;
}

export interface DecisionResult {
  readonly decision: DecisionRecord;
  readonly evaluation: Evaluation;
  readonly receipt: Receipt;
}

export interface PromotionSettings {
  readonly timeLimitMs: number;
  /** Base URL the VSA names the verifier and policies by. */
  readonly publicUrl: string;
}

/** Most decisions a version's history returns. */
const DECISION_HISTORY = 100;

/**
 * Stored signatures already re-verified, by the hashes of the key and the bundle text: a row
 * edited in the database hashes differently and is verified again.
 */
const VERIFIED = new BoundedMemo<boolean>(50_000);

function candidateOf(view: AttestationView, version: VersionRecord): CandidateAttestation {
  const { record } = view;
  const base = {
    role: record.role,
    // Subjects match by digest only; an evidence step's products are its sha256 subjects (§6.3).
    subjects: view.statement.subject.flatMap((s) => {
      const hex = s.digest['sha256'];
      if (typeof hex !== 'string') return [];
      return [typeof s.name === 'string' ? { name: s.name, digest: `sha256:${hex}` } : { digest: `sha256:${hex}` }];
    }),
    predicateType: record.predicateType,
    predicate: view.statement.predicate,
    signer: { name: record.keyName, keyId: record.keyId },
    loggedAt: record.loggedAt,
    logIndex: record.logIndex,
    // `sha256:<hex>`, as the API shows it and as a VSA names its input attestations.
    digest: `sha256:${record.bundleDigest}`,
  };
  if (!view.status.valid) return { ...base, status: view.status.code === 'KEY_REVOKED' ? 'revoked' : 'invalid', reason: view.status.message };
  if (view.key === undefined) return { ...base, status: 'invalid', reason: 'the signing key is no longer registered' };
  // The stored row is not trusted blindly: its signature and subject are checked again.
  const key = view.key;
  const verified = VERIFIED.getOrSet(`${sha256Hex(key.publicKeyPem)}\n${sha256Hex(record.bundle)}`, () => {
    try {
      verifyAttestationSignature(openAttestation(Buffer.from(record.bundle, 'utf8'), { maxBytes: MAX_BUNDLE_BYTES }), parsePublicKey(key.publicKeyPem));
      return true;
    } catch {
      return false;
    }
  });
  if (!verified) return { ...base, status: 'invalid', reason: 'the stored signature does not verify' };
  // Evidence names a pipeline step's products, not the version (§4.2); the chain rules read them.
  if (record.role !== 'evidence' && record.predicateType !== OMS_PREDICATE_TYPE && !subjectSha256s(view.statement).includes(version.digest.slice('sha256:'.length))) {
    return { ...base, status: 'invalid', reason: 'the statement is not about this version' };
  }
  return { ...base, status: 'valid' };
}

function provenanceOf(views: readonly AttestationView[]): Readonly<Record<string, unknown>> | null {
  const view = views.find((v) => v.record.role === 'provenance' && v.status.valid);
  const predicate = view?.statement.predicate;
  if (predicate === undefined || typeof predicate !== 'object' || predicate === null || Array.isArray(predicate)) return null;
  try {
    return { ...extractTrainingProvenance(predicate) };
  } catch {
    return null;
  }
}

export class PromotionService {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly log: TransparencyLog,
    private readonly auth: AuthService,
    private readonly registry: RegistryService,
    private readonly policies: PolicyService,
    private readonly vsaKey: VsaKey,
    private readonly settings: PromotionSettings,
  ) {}

  /** The evaluation a promotion would make now, without deciding (`policy eval`). */
  async evaluate(actor: Actor, model: ModelName, selector: VersionSelector, environment: string): Promise<{ version: VersionRecord; evaluation: Evaluation }> {
    this.policies.assertEnvironment(environment);
    const { version } = await this.registry.getVersion(model, selector);
    return { version, evaluation: await this.evaluateThrough(this.store, actor, version, environment) };
  }

  async promote(actor: Actor, request: PromoteRequest): Promise<DecisionResult> {
    const { model, environment } = request;
    this.policies.assertEnvironment(environment);
    this.auth.authorize(actor, `promote:${environment}`, { namespace: model.namespace });
    const { version } = await this.registry.getVersion(model, request.selector);

    return this.store.transaction(async (tx) => {
      await tx.lockModel(model.namespace, model.name);
      // Hold the log head from the first read to the commit: an attestation, a key revocation
      // or a policy change committing meanwhile would otherwise be logged *before* a decision
      // that did not see it (PostgreSQL reads committed data at each statement). Every log
      // writer takes this lock, so what the decision read is exactly the log before its entry.
      await tx.lockLogHead();
      const current = await tx.getAlias(model.namespace, model.name, environment);
      if (request.expectCurrent !== undefined) {
        const holds = current?.versionDigest ?? 'none';
        if (holds !== request.expectCurrent) {
          throw new CustodyError('ALIAS_MOVED', `${environment} holds ${holds}, not ${request.expectCurrent}: it moved meanwhile`, {
            details: { environment, current: holds },
          });
        }
      }
      const evaluation = await this.evaluateThrough(tx, actor, version, environment);
      const now = isoNow(this.clock);
      const decisionId = newId();
      const checks = [
        ...evaluation.requirements.map((r) => ({ kind: 'requirement', name: r.name, result: r.result })),
        ...evaluation.gates.map((g) => ({ kind: 'gate', name: g.name, result: g.result })),
      ];
      const [receipt] = await this.log.append(tx, [
        {
          v: 1,
          type: 'promotion.decided',
          time: now,
          actor: eventActor(actor),
          model: `${model.namespace}/${model.name}`,
          version: version.digest,
          number: version.number,
          environment,
          outcome: evaluation.outcome,
          decision: decisionId,
          policyDigest: evaluation.policyDigest,
          effectiveDigest: evaluation.effectiveDigest,
          inputDigest: evaluation.inputDigest,
          previous: current?.versionDigest ?? null,
          checks,
        },
      ]);
      const logIndex = receiptOf(receipt).logIndex;
      let vsa: string | null = null;
      if (evaluation.outcome === 'allow') {
        vsa = signVsa(
          {
            verifierId: `${this.settings.publicUrl}/custody`,
            timeVerified: now,
            model,
            versionDigest: version.digest,
            environment,
            policy: { uri: `${this.settings.publicUrl}/api/v1/environments/${environment}/policy`, digest: evaluation.effectiveDigest },
            inputAttestations: [...new Set(evaluation.requirements.flatMap((r) => r.satisfiedBy))].sort().map((digest) => ({
              uri: `${this.settings.publicUrl}/api/v1/models/${model.namespace}/${model.name}/versions/${version.digest}/attestations#${digest}`,
              digest,
            })),
            decisionId,
          },
          this.vsaKey,
        );
      }
      const decision: DecisionRecord = {
        id: decisionId,
        namespace: model.namespace,
        name: model.name,
        versionId: version.id,
        versionDigest: version.digest,
        environment,
        outcome: evaluation.outcome,
        policyDigest: evaluation.policyDigest,
        effectiveDigest: evaluation.effectiveDigest,
        inputDigest: evaluation.inputDigest,
        results: JSON.stringify({ requirements: evaluation.requirements, gates: evaluation.gates }),
        principal: actor.principal.name,
        principalKind: actor.principal.kind,
        decidedAt: now,
        logIndex,
        vsa,
      };
      await tx.insertDecision(decision);
      if (evaluation.outcome === 'allow') {
        await tx.setAlias({ namespace: model.namespace, name: model.name, environment, versionId: version.id, versionDigest: version.digest, since: now, decisionId, logIndex });
        await tx.clearQuarantines(version.id, environment, now, decisionId);
      }
      return { decision, evaluation, receipt: receiptOf(receipt) };
    });
  }

  /**
   * Evaluates the effective policy of `environment` for `version`, reading through `reader` (a
   * transaction, the store, or a view of it with one record changed — `reader-overrides.ts`).
   * `ignoreRequireFrom` judges a version already in an environment on what it carries.
   */
  async evaluateThrough(reader: MetadataReader, actor: Actor, version: VersionRecord, environment: string, options: { ignoreRequireFrom?: boolean } = {}): Promise<Evaluation> {
    const input = await this.#input(reader, version, environment, { name: actor.principal.name, kind: actor.principal.kind, claims: actor.claims });
    const { compiled } = await this.policies.effective(reader, environment);
    // A version already in an environment is judged there on what it carries, not on where it came from.
    const requireFrom = compiled.document?.spec.requireFrom;
    const judged = options.ignoreRequireFrom === true && requireFrom !== undefined ? { ...input, version: { ...input.version, environments: [...input.version.environments, requireFrom] } } : input;
    return evaluatePolicy(compiled, judged, { timeLimitMs: this.settings.timeLimitMs });
  }

  async #input(reader: MetadataReader, version: VersionRecord, environment: string, principal: PolicyInput['principal']): Promise<PolicyInput> {
    const views = await attestationViews(reader, version);
    const files = await reader.getVersionFiles(version.id);
    const aliases = await reader.listAliasesOfVersion(version.id);
    return {
      attestations: views.map((v) => candidateOf(v, version)),
      version: {
        digest: version.digest,
        number: version.number,
        files: files.map((f) => ({ path: f.path, size: f.size, digest: `sha256:${f.sha256}` })),
        size: version.totalSize,
        environments: aliases.map((a) => a.environment),
        registeredAt: version.registeredAt,
        registeredBy: version.registeredBy,
      },
      model: { namespace: version.namespace, name: version.name },
      provenance: provenanceOf(views),
      principal,
      environment,
      now: isoNow(this.clock),
    };
  }

  /** A version's decisions, newest first. */
  async decisions(model: ModelName, selector: VersionSelector): Promise<{ version: VersionRecord; decisions: readonly DecisionRecord[] }> {
    const { version } = await this.registry.getVersion(model, selector);
    return { version, decisions: await this.store.listDecisions(version.id, DECISION_HISTORY) };
  }

  /** Which version each environment holds, since when, by which decision, and its quarantines. */
  async status(model: ModelName): Promise<{ environment: string; alias: AliasRecord | undefined; quarantines: readonly QuarantineRecord[] }[]> {
    await this.registry.getModel(model);
    const aliases = await this.store.listAliases(model.namespace, model.name);
    const out = [];
    for (const environment of this.policies.environments) {
      const alias = aliases.find((a) => a.environment === environment);
      const quarantines = alias === undefined ? [] : (await this.store.listActiveQuarantines(alias.versionId)).filter((q) => q.environment === environment);
      out.push({ environment, alias, quarantines });
    }
    return out;
  }

  /** The decision that placed the version an environment holds (with its VSA), or why there is none. */
  async environmentRecord(model: ModelName, environment: string): Promise<{ version: VersionRecord; decision: DecisionRecord | null; quarantines: readonly QuarantineRecord[] }> {
    this.policies.assertEnvironment(environment);
    const { version } = await this.registry.getVersion(model, { kind: 'environment', environment });
    const alias = await this.store.getAlias(model.namespace, model.name, environment);
    const decision = alias?.decisionId == null ? null : ((await this.store.getDecision(alias.decisionId)) ?? null);
    const quarantines = (await this.store.listActiveQuarantines(version.id)).filter((q) => q.environment === environment);
    return { version, decision, quarantines };
  }

  /**
   * The reaction to a revoked key (§10 "stolen signing key"), inside the revocation's
   * transaction: every version an environment holds that carries an attestation by that key is
   * evaluated again against that environment's effective policy (its chain position aside); each
   * one that no longer passes is quarantined there and `version.quarantined` is logged.
   */
  async quarantineAfterRevocation(tx: MetadataTx, actor: Actor, key: { name: string; keyId: string }): Promise<number> {
    let count = 0;
    for (const { alias, version, failures } of await this.#revocationImpact(tx, actor, key)) {
      const now = isoNow(this.clock);
      const reason = `key ${key.name} was revoked: ${failures.join('; ')}`.slice(0, 2000);
      const [receipt] = await this.log.append(tx, [
        {
          v: 1,
          type: 'version.quarantined',
          time: now,
          actor: eventActor(actor),
          model: `${alias.namespace}/${alias.name}`,
          version: version.digest,
          number: version.number,
          environment: alias.environment,
          key: key.name,
          keyId: key.keyId,
          reason,
        },
      ]);
      await tx.insertQuarantine({ id: newId(), versionId: version.id, environment: alias.environment, reason, since: now, logIndex: receiptOf(receipt).logIndex, clearedAt: null, clearedBy: null });
      count++;
    }
    return count;
  }

  /**
   * Read-only preview of `quarantineAfterRevocation` (the UI's revoke confirmation): the
   * placements that revoking `key` now with `compromisedSince` would quarantine, judged by the
   * same evaluation over the stored state with only that key seen as revoked. Writes nothing.
   */
  async previewRevocation(actor: Actor, key: SignerKeyRecord, compromisedSince: string | null): Promise<RevocationImpact[]> {
    const revoked: SignerKeyRecord = { ...key, revocation: { revokedAt: isoNow(this.clock), revokedBy: actor.principal.name, reason: 'preview', compromisedSince, logIndex: -1 } };
    return this.#revocationImpact(withKeyRevoked(this.store, revoked), actor, key);
  }

  /** What activating `proposal` would change (the policy page's preview; `policy-preview.ts`). Writes nothing. */
  previewPolicy(actor: Actor, proposal: PolicyRecord, options: { readonly limit?: number; readonly namespaces?: readonly string[] | null } = {}): Promise<PolicyPreview> {
    return previewPolicyChange(this.store, (reader, a, version, environment, o) => this.evaluateThrough(reader, a, version, environment, o), this.policies.environments, actor, proposal, options);
  }

  /** The placements holding a version signed by `key` that no longer pass there, and why. */
  async #revocationImpact(reader: MetadataReader, actor: Actor, key: { name: string; keyId: string }): Promise<RevocationImpact[]> {
    const out: RevocationImpact[] = [];
    for (const alias of await reader.listAliasesSignedBy(key.keyId)) {
      const version = await reader.getVersionByDigest(alias.namespace, alias.name, alias.versionDigest);
      if (version === undefined) continue;
      const evaluation = await this.evaluateThrough(reader, actor, version, alias.environment, { ignoreRequireFrom: true });
      const failed = [...evaluation.requirements.filter((r) => r.source !== 'requireFrom'), ...evaluation.gates].filter((c) => c.result !== 'PASS');
      if (failed.length === 0) continue;
      const failures = failed.map((c) => ('detail' in c && c.detail !== undefined ? `${c.name} ${c.result}: ${c.detail}` : `${c.name} ${c.result}: ${c.message}`));
      out.push({ alias, version, failures });
    }
    return out;
  }
}

/** One placement a key revocation quarantines (or would): the alias, its version, the checks that fail. */
export interface RevocationImpact {
  readonly alias: AliasRecord;
  readonly version: VersionRecord;
  readonly failures: readonly string[];
}

