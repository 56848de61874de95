/**
 * Model and version use cases (SPEC §2, §4.1): registration of an immutable, content-addressed
 * version once every blob of its manifest is present, idempotent re-registration, and reads by
 * number or digest. There is deliberately no update or delete.
 */
import { CustodyError } from '../domain/errors.js';
import { isoNow, type Clock } from '../domain/clock.js';
import { parseDigest } from '../domain/digest.js';
import { manifestDigest, manifestOmsRoot, toManifest, type Manifest, type ManifestFile } from '../domain/manifest.js';
import { formatSelector, type ModelName, type VersionSelector } from '../domain/model-ref.js';
import type { BlobStore } from '../store/blob-store.js';
import type { MetadataStore, ModelRecord, ModelSummary, Page, VersionRecord } from '../store/metadata-store.js';
import type { Actor } from './auth-service.js';
import { forEachLimited } from './for-each-limited.js';
import { canonicalJson } from '../crypto/canonical-json.js';
import { sha256Hex } from '../domain/digest.js';
import type { LogEvent } from '../domain/log-event.js';
import { eventActor } from './event-actor.js';
import type { Receipt, TransparencyLog } from './transparency-log.js';
import type { ProvenanceField } from '../domain/provenance.js';
import type { AttestationSubject } from './attestation-intake.js';
import { ATTESTATION_REJECTION_CODES, attestationAddedEvent, toAttestationRecord } from './attestation-service.js';
import { checkEntryBundles, dedupeParents } from './provenance-intake.js';
import type { AttestationRole } from '../store/metadata-store.js';

export interface RegistryLimits {
  readonly maxFiles: number;
  readonly maxFileBytes: number;
  readonly maxAnnotationsBytes: number;
  readonly caseInsensitivePaths: boolean;
}

/** What entry requires of a push's provenance (config `provenance`, SPEC §4.3). */
export interface EntryRules {
  readonly requireProvenance: boolean;
  readonly requiredFields: readonly ProvenanceField[];
  /** The configured environments, first to last; registration places a version in the first. */
  readonly environments: readonly string[];
}

/** Most extra attestations one push may carry. */
const MAX_PUSH_ATTESTATIONS = 32;

export interface RegisterRequest {
  readonly model: ModelName;
  /** Files as the client declares them; `digest` is `sha256:<hex>`. */
  readonly files: readonly { readonly path: string; readonly size: number; readonly digest: string }[];
  readonly annotations?: unknown;
  readonly singleFile?: boolean;
  /** The training provenance bundle (Sigstore bundle JSON text, SPEC §4.3). */
  readonly provenance?: string;
  /** Further attestation bundles about the version. */
  readonly attestations?: readonly string[];
}

export interface RegisterResult {
  readonly version: VersionRecord;
  readonly files: readonly ManifestFile[];
  /** Where the `version.registered` event sits in the log; null when the version already existed. */
  readonly receipt: Receipt | null;
  /** False when the same content was already registered: the existing version is returned. */
  readonly created: boolean;
}

export interface VersionWithFiles {
  readonly version: VersionRecord;
  readonly files: readonly ManifestFile[];
}

const MAX_REGISTER_ATTEMPTS = 5;

/** Refusals caused by what the client sent: each is logged as `version.rejected`. */
const REJECTION_CODES: ReadonlySet<string> = new Set([
  'EMPTY_MODEL',
  'TOO_MANY_FILES',
  'FILE_TOO_LARGE',
  'INVALID_PATH',
  'DUPLICATE_PATH',
  'INVALID_DIGEST',
  'VALIDATION_FAILED',
  'ANNOTATIONS_TOO_LARGE',
  'BLOB_MISSING',
  'SIZE_MISMATCH',
  'PROVENANCE_REQUIRED',
  'PROVENANCE_INCOMPLETE',
  'PREDICATE_TYPE_MISMATCH',
  'INVALID_PROVENANCE',
  'PARENT_NOT_FOUND',
  ...ATTESTATION_REJECTION_CODES,
]);

export class RegistryService {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly clock: Clock,
    private readonly limits: RegistryLimits,
    private readonly log: TransparencyLog,
    private readonly entry: EntryRules = { requireProvenance: true, requiredFields: ['sourceCommit', 'trainingData', 'builderId'], environments: ['development', 'staging', 'production'] },
  ) {}

  /**
   * Registers a version: validates the manifest, checks every blob exists with its declared
   * size, and commits model + version + files in one transaction. Same content → same version.
   */
  async register(actor: Actor, request: RegisterRequest): Promise<RegisterResult> {
    try {
      return await this.registerChecked(actor, request);
    } catch (error) {
      // A refused push is an event too (SPEC §4.4): logged in its own transaction, since the
      // registration it describes did not happen.
      if (error instanceof CustodyError && REJECTION_CODES.has(error.code)) {
        await this.log.appendAlone([
          {
            v: 1,
            type: 'version.rejected',
            time: isoNow(this.clock),
            actor: eventActor(actor),
            model: `${request.model.namespace}/${request.model.name}`,
            code: error.code,
            reason: error.message.slice(0, 500),
          },
        ]);
      }
      throw error;
    }
  }

  private get firstEnvironment(): string {
    const first = this.entry.environments[0];
    if (first === undefined) throw new CustodyError('INTERNAL', 'no environments are configured');
    return first;
  }

  private async registerChecked(actor: Actor, request: RegisterRequest): Promise<RegisterResult> {
    const manifest = this.validateManifest(request);
    const annotations = this.validateAnnotations(request.annotations);
    const digest = manifestDigest(manifest);
    const { namespace, name } = request.model;

    if (request.provenance === undefined && this.entry.requireProvenance) {
      throw new CustodyError('PROVENANCE_REQUIRED', 'a push needs a signed training provenance (custody push --provenance FILE)');
    }
    if ((request.attestations?.length ?? 0) > MAX_PUSH_ATTESTATIONS) {
      throw new CustodyError('VALIDATION_FAILED', `a push may carry at most ${MAX_PUSH_ATTESTATIONS} attestations`, { details: { field: 'attestations' } });
    }
    const subject: AttestationSubject = { namespace, versionDigest: digest, files: manifest.files, singleFile: isSingleFile(request, manifest) };

    const existing = await this.store.getVersionByDigest(namespace, name, digest);
    if (existing !== undefined) {
      // Same content again: nothing is stored, but forged bundles are still refused.
      await checkEntryBundles(this.store, request, subject, isoNow(this.clock), this.entry.requiredFields);
      return { version: existing, files: manifest.files, created: false, receipt: null };
    }

    await this.checkBlobsPresent(manifest);

    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.transaction(async (tx) => {
          const now = isoNow(this.clock);
          await tx.ensureModel(namespace, name, now);
          await tx.lockModel(namespace, name);
          const again = await tx.getVersionByDigest(namespace, name, digest);
          if (again !== undefined) return { version: again, files: manifest.files, created: false, receipt: null };
          // Checked inside the transaction that stores them: a key revoked meanwhile cannot slip in.
          const { provenance, bundles } = await checkEntryBundles(tx, request, subject, now, this.entry.requiredFields);
          const version = await tx.insertVersion({
            namespace,
            name,
            digest,
            omsRootDigest: manifestOmsRoot(manifest),
            singleFile: subject.singleFile,
            files: manifest.files,
            annotations,
            registeredAt: now,
            registeredBy: actor.principal.name,
          });
          const event: LogEvent = {
            v: 1,
            type: 'version.registered',
            time: now,
            actor: eventActor(actor),
            model: `${namespace}/${name}`,
            number: version.number,
            digest,
            omsRootDigest: version.omsRootDigest,
            fileCount: version.fileCount,
            totalSize: version.totalSize,
            environment: this.firstEnvironment,
            ...(annotations === null ? {} : { annotationsDigest: `sha256:${sha256Hex(canonicalJson(annotations))}` }),
            ...(provenance === null ? {} : { provenance: { bundleDigest: `sha256:${provenance.accepted.opened.bundleDigest}`, keyId: provenance.accepted.key.keyId, key: provenance.accepted.key.name } }),
          };
          const roles = bundles.map((b): AttestationRole => (b === provenance?.accepted ? 'provenance' : 'attestation'));
          const receipts = await this.log.append(tx, [event, ...bundles.map((b, i) => attestationAddedEvent(actor, version, b, roles[i] ?? 'attestation', now))]);
          for (const [i, accepted] of bundles.entries()) {
            const logIndex = receipts[i + 1]?.logIndex;
            if (logIndex === undefined) throw new CustodyError('INTERNAL', 'the log returned too few receipts');
            await tx.insertAttestation(toAttestationRecord(actor, version, accepted, roles[i] ?? 'attestation', now, logIndex));
          }
          if (provenance !== null) {
            await tx.insertLineageEdges(
              dedupeParents(provenance.parents).map((p) => ({
                childVersionId: version.id,
                childNamespace: namespace,
                childName: name,
                childDigest: digest,
                parentNamespace: p.namespace,
                parentName: p.name,
                parentDigest: p.digest,
              })),
            );
          }
          const receipt = receipts[0];
          if (receipt === undefined) throw new CustodyError('INTERNAL', 'the log returned no receipt');
          // Registration places the version in the first environment (SPEC §2).
          await tx.setAlias({
            namespace,
            name,
            environment: this.firstEnvironment,
            versionId: version.id,
            versionDigest: digest,
            since: now,
            decisionId: null,
            logIndex: receipt.logIndex,
          });
          return { version, files: manifest.files, created: true, receipt };
        });
      } catch (error) {
        // A concurrent registration of the same content won: return what it stored.
        if (error instanceof CustodyError && error.code === 'CONFLICT' && attempt < MAX_REGISTER_ATTEMPTS) {
          const winner = await this.store.getVersionByDigest(namespace, name, digest);
          if (winner !== undefined) return { version: winner, files: manifest.files, created: false, receipt: null };
          continue;
        }
        throw error;
      }
    }
  }

  async getModel(model: ModelName): Promise<ModelRecord> {
    const record = await this.store.getModel(model.namespace, model.name);
    if (record === undefined) throw new CustodyError('MODEL_NOT_FOUND', `model ${model.namespace}/${model.name} does not exist`);
    return record;
  }

  listModels(options: { limit: number; cursor?: string; namespace?: string; namespaces?: readonly string[] }): Promise<Page<ModelSummary>> {
    return this.store.listModels(options);
  }

  async listVersions(model: ModelName, options: { limit: number; cursor?: string }): Promise<Page<VersionRecord>> {
    await this.getModel(model);
    return this.store.listVersions(model.namespace, model.name, options);
  }

  /** Resolves `@vN`, `@sha256:…` or `@<environment>` (the version that environment holds) to a version with its files. */
  async getVersion(model: ModelName, selector: VersionSelector): Promise<VersionWithFiles> {
    let version: VersionRecord | undefined;
    switch (selector.kind) {
      case 'number':
        version = await this.store.getVersionByNumber(model.namespace, model.name, selector.number);
        break;
      case 'digest':
        version = await this.store.getVersionByDigest(model.namespace, model.name, selector.digest);
        break;
      case 'environment': {
        if (!this.entry.environments.includes(selector.environment)) {
          throw new CustodyError('VERSION_NOT_FOUND', `there is no environment ${selector.environment}: the environments are ${this.entry.environments.join(', ')}`, {
            details: { environment: selector.environment },
          });
        }
        const alias = await this.store.getAlias(model.namespace, model.name, selector.environment);
        if (alias !== undefined) version = await this.store.getVersionByDigest(model.namespace, model.name, alias.versionDigest);
        break;
      }
    }
    if (version === undefined) {
      throw new CustodyError('VERSION_NOT_FOUND', `${model.namespace}/${model.name}@${formatSelector(selector)} does not exist`);
    }
    return { version, files: await this.store.getVersionFiles(version.id) };
  }

  private validateManifest(request: RegisterRequest): Manifest {
    if (request.files.length === 0) throw new CustodyError('EMPTY_MODEL', 'a version needs at least one file');
    if (request.files.length > this.limits.maxFiles) {
      throw new CustodyError('TOO_MANY_FILES', `a version may have at most ${this.limits.maxFiles} files`);
    }
    const files = request.files.map((f) => {
      if (f.size > this.limits.maxFileBytes) {
        throw new CustodyError('FILE_TOO_LARGE', `a file may have at most ${this.limits.maxFileBytes} bytes`, { details: { path: f.path } });
      }
      return { path: f.path, size: f.size, sha256: parseDigest(f.digest).hex };
    });
    return toManifest(files, { caseInsensitive: this.limits.caseInsensitivePaths });
  }

  private validateAnnotations(annotations: unknown): unknown {
    if (annotations === undefined || annotations === null) return null;
    if (typeof annotations !== 'object' || Array.isArray(annotations)) {
      throw new CustodyError('VALIDATION_FAILED', 'annotations must be a JSON object');
    }
    if (Buffer.byteLength(JSON.stringify(annotations), 'utf8') > this.limits.maxAnnotationsBytes) {
      throw new CustodyError('ANNOTATIONS_TOO_LARGE', `annotations may have at most ${this.limits.maxAnnotationsBytes} bytes`);
    }
    return annotations;
  }

  private async checkBlobsPresent(manifest: Manifest): Promise<void> {
    const problems: { path: string; code: 'BLOB_MISSING' | 'SIZE_MISMATCH' }[] = [];
    const bySha = new Map<string, ManifestFile[]>();
    for (const f of manifest.files) bySha.set(f.sha256, [...(bySha.get(f.sha256) ?? []), f]);
    await forEachLimited([...bySha.keys()], 16, async (sha) => {
      const info = await this.blobs.stat(sha);
      for (const f of bySha.get(sha) ?? []) {
        if (info === undefined) problems.push({ path: f.path, code: 'BLOB_MISSING' });
        else if (info.size !== f.size) problems.push({ path: f.path, code: 'SIZE_MISMATCH' });
      }
    });
    const first = problems[0];
    if (first !== undefined) {
      const paths = problems.slice(0, 20).map((p) => p.path);
      throw new CustodyError(
        first.code,
        first.code === 'BLOB_MISSING' ? 'the content of some files has not been uploaded' : 'some files differ in size from the uploaded content',
        { details: { paths, count: problems.length } },
      );
    }
  }
}

function isSingleFile(request: RegisterRequest, manifest: Manifest): boolean {
  return request.singleFile === true && manifest.files.length === 1 && manifest.files[0]?.path.includes('/') === false;
}

