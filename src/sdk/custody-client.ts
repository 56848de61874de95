/**
 * `CustodyClient`, the TypeScript SDK the CLI itself uses. Thin typed calls for each API route,
 * plus the two transfers that carry the product's guarantees on the client side: `push` (hash
 * locally, upload only what is missing, resume interrupted uploads from the acknowledged offset,
 * register) and `pull` (stream, verify every file and the version digest, publish atomically),
 * and the trust calls: signer keys, attestations, verified metadata and lineage (SPEC §2, §4.2).
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { CustodyError } from '../domain/errors.js';
import { toDigest } from '../domain/digest.js';
import { formatSelector, parseModelName, parseModelRef, type ModelName, type ModelRef } from '../domain/model-ref.js';
import { HttpTransport, type TransportOptions } from './http-transport.js';
import { IdentityApi } from './identity-api.js';
import { PromotionApi } from './promotion-api.js';
import { scanModel, type LocalFile, type LocalModel } from './local-model.js';
import { pullVersion, type PullOptions, type PullResult } from './pull-version.js';
import {
  attestationSchema,
  attestationsSchema,
  keySchema,
  keysSchema,
  lineageSchema,
  modelsPageSchema,
  uploadStatusSchema,
  verifiedMetadataSchema,
  versionSchema,
  versionsPageSchema,
  type AttestationBody,
  type AttestationsPage,
  type KeyBody,
  type KeysPage,
  type LineageBody,
  type ModelsPage,
  type UploadStatusBody,
  type VerifiedMetadataBody,
  type VersionBody,
  type VersionsPage,
  type Whoami,
} from './responses.js';

export type {
  AttestationBody,
  AttestationsPage,
  KeyBody,
  KeysPage,
  LineageBody,
  LineageNodeBody,
  MetadataRowBody,
  ModelsPage,
  VerifiedMetadataBody,
  VersionBody,
  VersionsPage,
  Whoami,
} from './responses.js';

/** Files below this size go up in one PUT; larger ones through a resumable session. */
const SESSION_THRESHOLD = 8 * 1024 * 1024;
const UPLOAD_CONCURRENCY = 8;
const MAX_RESUME_ATTEMPTS = 5;

export interface PushOptions {
  readonly model: ModelName | string;
  readonly annotations?: Record<string, unknown>;
  readonly ignorePaths?: readonly string[];
  /** The signed training provenance: Sigstore bundle JSON text, sent as is (SPEC §4.3). */
  readonly provenance?: string;
  /** Further attestation bundles (JSON text) the registry verifies and stores with the version. */
  readonly attestations?: readonly string[];
  /** Progress: phase, bytes done and total bytes of the phase. */
  readonly onProgress?: (phase: 'hash' | 'upload', done: number, total: number) => void;
}

export interface PushResult {
  readonly version: VersionBody;
  readonly created: boolean;
  readonly uploadedFiles: number;
  /** Bytes this push sent (a resumed upload counts only what was left). */
  readonly uploadedBytes: number;
  readonly skippedFiles: number;
}

/** A signer key to register (SPEC §8 `keys add`); times are RFC 3339. */
export interface AddKeyRequest {
  readonly name: string;
  /** SPKI PEM of an Ed25519, P-256 or P-384 public key. */
  readonly publicKeyPem: string;
  readonly predicateTypes: readonly string[];
  /** Omit for every namespace. */
  readonly namespaces?: readonly string[];
  readonly notBefore?: string;
  readonly notAfter?: string;
}

export type LineageDirection = 'ancestors' | 'descendants' | 'both';

export class CustodyClient {
  readonly transport: HttpTransport;
  /** Principals, API tokens, role bindings and whoami (SPEC §7). */
  readonly identity: IdentityApi;
  /** Policies, promotions and their decisions, environment status and the VSA key (SPEC §6). */
  readonly promotion: PromotionApi;

  constructor(options: TransportOptions) {
    this.transport = new HttpTransport(options);
    this.identity = new IdentityApi(this.transport);
    this.promotion = new PromotionApi(this.transport);
  }

  close(): void {
    this.transport.close();
  }

  /** The authenticated caller (see `identity.whoami`). */
  async whoami(): Promise<Whoami> {
    return this.identity.whoami();
  }

  async listModels(options: { namespace?: string; limit?: number; cursor?: string } = {}): Promise<ModelsPage> {
    const query = new URLSearchParams();
    if (options.namespace !== undefined) query.set('namespace', options.namespace);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    const qs = query.size > 0 ? `?${query.toString()}` : '';
    return parse(modelsPageSchema, (await this.transport.json({ method: 'GET', path: `/api/v1/models${qs}` })).body);
  }

  async listVersions(model: ModelName | string, options: { limit?: number; cursor?: string } = {}): Promise<VersionsPage> {
    const m = toModelName(model);
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    const qs = query.size > 0 ? `?${query.toString()}` : '';
    return parse(versionsPageSchema, (await this.transport.json({ method: 'GET', path: `${modelPath(m)}/versions${qs}` })).body);
  }

  async getVersion(ref: ModelRef | string): Promise<VersionBody> {
    return parse(versionSchema, (await this.transport.json({ method: 'GET', path: versionPath(ref) })).body);
  }

  /** Every trusted signer key, revoked ones included. */
  async listKeys(): Promise<KeysPage> {
    return parse(keysSchema, (await this.transport.json({ method: 'GET', path: '/api/v1/keys' })).body);
  }

  async getKey(name: string): Promise<KeyBody> {
    return parse(keySchema, (await this.transport.json({ method: 'GET', path: `/api/v1/keys/${encodeURIComponent(name)}` })).body);
  }

  /** Registers a signer key (needs `key:manage`); the answer carries the `key.added` receipt. */
  async addKey(request: AddKeyRequest): Promise<KeyBody> {
    const json = {
      name: request.name,
      publicKey: request.publicKeyPem,
      predicateTypes: request.predicateTypes,
      ...(request.namespaces === undefined ? {} : { namespaces: request.namespaces }),
      ...(request.notBefore === undefined ? {} : { notBefore: request.notBefore }),
      ...(request.notAfter === undefined ? {} : { notAfter: request.notAfter }),
    };
    return parse(keySchema, (await this.transport.json({ method: 'POST', path: '/api/v1/keys', json })).body);
  }

  /** Revokes a key; with `compromisedSince`, what it signed from then on becomes invalid. */
  async revokeKey(name: string, request: { reason: string; compromisedSince?: string }): Promise<KeyBody> {
    const json = { reason: request.reason, ...(request.compromisedSince === undefined ? {} : { compromisedSince: request.compromisedSince }) };
    return parse(keySchema, (await this.transport.json({ method: 'POST', path: `/api/v1/keys/${encodeURIComponent(name)}/revoke`, json })).body);
  }

  /**
   * Submits one attestation bundle (JSON text, sent as is); `created` is false when it was already
   * stored. `role: 'evidence'` attaches a pipeline step's link or SLSA provenance as evidence (SPEC §4.2).
   */
  async addAttestation(ref: ModelRef | string, bundleText: string, options: { role?: 'attestation' | 'evidence' } = {}): Promise<AttestationBody> {
    const json = options.role === undefined ? { bundle: bundleText } : { bundle: bundleText, role: options.role };
    const { status, body } = await this.transport.json({ method: 'POST', path: `${versionPath(ref)}/attestations`, json });
    const attestation = parse(attestationSchema, body);
    return { ...attestation, created: attestation.created ?? status === 201 };
  }

  /** A version's attestations in log order with the server's judgement; `bundles` adds each bundle's text. */
  async listAttestations(ref: ModelRef | string, options: { bundles?: boolean } = {}): Promise<AttestationsPage> {
    const qs = options.bundles === true ? '?bundles=true' : '';
    return parse(attestationsSchema, (await this.transport.json({ method: 'GET', path: `${versionPath(ref)}/attestations${qs}` })).body);
  }

  /** The verified metadata table (each value naming its attestation and key) and the unverified annotations. */
  async verifiedMetadata(ref: ModelRef | string): Promise<VerifiedMetadataBody> {
    return parse(verifiedMetadataSchema, (await this.transport.json({ method: 'GET', path: `${versionPath(ref)}/metadata` })).body);
  }

  /** Ancestors and descendants through verified training provenance, as a graph. */
  async lineage(ref: ModelRef | string, options: { depth?: number; direction?: LineageDirection } = {}): Promise<LineageBody> {
    const query = new URLSearchParams();
    if (options.depth !== undefined) query.set('depth', String(options.depth));
    if (options.direction !== undefined) query.set('direction', options.direction);
    const qs = query.size > 0 ? `?${query.toString()}` : '';
    return parse(lineageSchema, (await this.transport.json({ method: 'GET', path: `${versionPath(ref)}/lineage${qs}` })).body);
  }

  async missingBlobs(digests: readonly string[]): Promise<string[]> {
    const { body } = await this.transport.json({ method: 'POST', path: '/api/v1/blobs/missing', json: { digests } });
    return parse(z.object({ missing: z.array(z.string()) }), body).missing;
  }

  async registerVersion(
    model: ModelName | string,
    request: {
      files: readonly { path: string; size: number; digest: string }[];
      annotations?: Record<string, unknown>;
      singleFile?: boolean;
      provenance?: string;
      attestations?: readonly string[];
    },
  ): Promise<{ version: VersionBody; created: boolean }> {
    const m = toModelName(model);
    const { status, body } = await this.transport.json({ method: 'POST', path: `${modelPath(m)}/versions`, json: request });
    return { version: parse(versionSchema, body), created: status === 201 };
  }

  async createUpload(digest: string, size: number): Promise<UploadStatusBody> {
    return parse(uploadStatusSchema, (await this.transport.json({ method: 'POST', path: '/api/v1/uploads', json: { digest, size } })).body);
  }

  async uploadStatus(id: string): Promise<UploadStatusBody> {
    return parse(uploadStatusSchema, (await this.transport.json({ method: 'GET', path: `/api/v1/uploads/${encodeURIComponent(id)}` })).body);
  }

  /** Streams `file` from `offset` to its end into the session. */
  async appendUpload(id: string, file: LocalFile, offset: number, onBytes?: (n: number) => void): Promise<UploadStatusBody> {
    let handle: FileHandle;
    try {
      handle = await open(file.absolutePath, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new CustodyError('VERIFICATION_FAILED', `file changed while pushing: ${file.path} is gone`, { cause: error, details: { path: file.path } });
      }
      throw error;
    }
    const { body } = await this.transport.json({
      method: 'PATCH',
      path: `/api/v1/uploads/${encodeURIComponent(id)}`,
      file: { slice: { handle, start: offset, length: file.size - offset }, ...(onBytes === undefined ? {} : { onBytes }) },
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(file.size - offset),
        'content-range': `bytes ${offset}-${file.size - 1}/${file.size}`,
      },
    });
    return parse(uploadStatusSchema, body);
  }

  async commitUpload(id: string, digest: string): Promise<void> {
    await this.transport.json({ method: 'POST', path: `/api/v1/uploads/${encodeURIComponent(id)}/commit`, json: { digest } });
  }

  async putBlob(file: LocalFile, onBytes?: (n: number) => void): Promise<void> {
    // An explicit `end` keeps small files from each allocating a full 1 MiB read buffer.
    const source = createReadStream(file.absolutePath, { highWaterMark: Math.min(1024 * 1024, Math.max(file.size, 1)), ...(file.size > 0 ? { end: file.size - 1 } : {}) });
    if (onBytes !== undefined) source.on('data', (chunk) => { onBytes(chunk.length); });
    await this.transport.json({
      method: 'PUT',
      path: `/api/v1/blobs/${toDigest(file.sha256)}`,
      body: source,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(file.size) },
    });
  }

  /** Streams a blob (or a range of it). The caller verifies what it reads. */
  async getBlob(digest: string, range?: { start: number; end?: number }): ReturnType<HttpTransport['stream']> {
    return this.transport.stream({
      method: 'GET',
      path: `/api/v1/blobs/${digest}`,
      ...(range === undefined ? {} : { headers: { range: `bytes=${range.start}-${range.end ?? ''}` } }),
    });
  }

  /** The log's origin and verifier key as the server states them (pin it; do not trust it blindly). */
  async logKey(): Promise<{ origin: string; verifierKey: string }> {
    return parse(z.object({ origin: z.string(), verifierKey: z.string() }), (await this.transport.json({ method: 'GET', path: '/api/v1/log/key' })).body);
  }

  /** The newest signed checkpoint note, unverified (see `log/checkpoint.ts` to verify). */
  async logCheckpoint(): Promise<string> {
    const response = await this.transport.stream({ method: 'GET', path: '/log/checkpoint' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 1024 * 1024) throw new CustodyError('SERVER_ERROR', 'the checkpoint is too large');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Log events newest first, filtered (SPEC §8 `audit`). */
  async audit(filters: { model?: string; type?: string; since?: string; before?: number; limit?: number } = {}): Promise<{ items: { index: number; leafHash: string; event: unknown }[]; nextBefore: number | null }> {
    const qs = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) if (value !== undefined) qs.set(key, String(value));
    const { body } = await this.transport.json({ method: 'GET', path: `/api/v1/audit${qs.size > 0 ? `?${qs.toString()}` : ''}` });
    return parse(
      z.object({ items: z.array(z.object({ index: z.number().int(), leafHash: z.string(), event: z.unknown() })), nextBefore: z.number().int().nullable() }),
      body,
    );
  }

  /** Raw bytes of a C2SP tile or entry bundle, by its path (`tile/…`), unverified. */
  async logTile(tilePath: string): Promise<Buffer> {
    const response = await this.transport.stream({ method: 'GET', path: `/log/${tilePath}` });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 256 * 65_537) throw new CustodyError('SERVER_ERROR', 'the tile is larger than any tile can be');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  }

  async logEntry(index: number): Promise<{ index: number; leafHash: string; leaf: string; event: unknown }> {
    const { body } = await this.transport.json({ method: 'GET', path: `/api/v1/log/entries/${index}` });
    return parse(z.object({ index: z.number().int(), leafHash: z.string().regex(/^[0-9a-f]{64}$/), leaf: z.string(), event: z.unknown() }), body);
  }

  async proveInclusion(index: number, size?: number): Promise<{ index: number; treeSize: number; leafHash: string; proof: string[]; checkpoint: string | null }> {
    const qs = new URLSearchParams({ index: String(index), ...(size === undefined ? {} : { size: String(size) }) });
    const { body } = await this.transport.json({ method: 'GET', path: `/api/v1/log/proof/inclusion?${qs.toString()}` });
    const hex = z.string().regex(/^[0-9a-f]{64}$/);
    return parse(z.object({ index: z.number().int(), treeSize: z.number().int(), leafHash: hex, proof: z.array(hex).max(64), checkpoint: z.string().nullable() }), body);
  }

  async proveConsistency(from: number, to?: number): Promise<{ from: number; to: number; proof: string[]; checkpoint: string | null }> {
    const qs = new URLSearchParams({ from: String(from), ...(to === undefined ? {} : { to: String(to) }) });
    const { body } = await this.transport.json({ method: 'GET', path: `/api/v1/log/proof/consistency?${qs.toString()}` });
    const hex = z.string().regex(/^[0-9a-f]{64}$/);
    return parse(z.object({ from: z.number().int(), to: z.number().int(), proof: z.array(hex).max(64), checkpoint: z.string().nullable() }), body);
  }

  /** Hashes a local model, uploads only the blobs the server lacks, and registers the version. */
  async push(path: string, options: PushOptions): Promise<PushResult> {
    const model = toModelName(options.model);
    const local = await scanModel(path, {
      ...(options.ignorePaths === undefined ? {} : { ignorePaths: options.ignorePaths }),
      onScanned: ({ bytes }) => options.onProgress?.('hash', 0, bytes),
      onProgress: (done) => options.onProgress?.('hash', done, 0),
    });
    return this.pushScanned(local, model, options);
  }

  /** The upload and registration half of `push`, for an already scanned model. */
  async pushScanned(local: LocalModel, model: ModelName, options: Omit<PushOptions, 'model'> = {}): Promise<PushResult> {
    const missing = new Set(await this.missingBlobs([...new Set(local.files.map((f) => toDigest(f.sha256)))]));
    const toUpload: LocalFile[] = [];
    const chosen = new Set<string>();
    for (const f of local.files) {
      if (missing.has(toDigest(f.sha256)) && !chosen.has(f.sha256)) {
        chosen.add(f.sha256);
        toUpload.push(f);
      }
    }
    const total = toUpload.reduce((s, f) => s + f.size, 0);
    let done = 0;
    let sent = 0;
    const onBytes = (n: number): void => {
      done += n;
      options.onProgress?.('upload', done, total);
    };
    options.onProgress?.('upload', 0, total);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < toUpload.length) {
        const file = toUpload[next++];
        if (file === undefined) return;
        if (file.size < SESSION_THRESHOLD) {
          await this.putBlob(file, onBytes);
          sent += file.size;
        } else {
          // Read `sent` only after the await: `sent += await …` would lose concurrent updates.
          const resumed = await this.uploadResumable(file, onBytes);
          sent += resumed;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, toUpload.length) }, worker));

    const { version, created } = await this.registerVersion(model, {
      files: local.files.map((f) => ({ path: f.path, size: f.size, digest: toDigest(f.sha256) })),
      ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
      singleFile: local.singleFile,
      ...(options.provenance === undefined ? {} : { provenance: options.provenance }),
      ...(options.attestations === undefined ? {} : { attestations: options.attestations }),
    });
    if (version.digest !== local.digest) {
      throw new CustodyError('VERIFICATION_FAILED', `the server registered ${version.digest} but the local manifest digest is ${local.digest}`);
    }
    return { version, created, uploadedFiles: toUpload.length, uploadedBytes: sent, skippedFiles: local.files.length - toUpload.length };
  }

  /**
   * Uploads one large file through a session, resuming from the server's acknowledged offset —
   * after a dropped connection here, or after a previous push of the same file was killed.
   * Returns the bytes this call had to send (approximate when a retry re-sent bytes in flight).
   */
  private async uploadResumable(file: LocalFile, onBytes: (n: number) => void): Promise<number> {
    const digest = toDigest(file.sha256);
    let status = await this.createUpload(digest, file.size);
    if (status.exists) {
      onBytes(file.size);
      return 0;
    }
    const resumedFrom = status.offset;
    const id = status.id;
    if (id === null) throw new CustodyError('SERVER_ERROR', 'the server opened no upload session');
    onBytes(status.offset);
    for (let attempt = 1; status.offset < file.size; attempt++) {
      try {
        status = await this.appendUpload(id, file, status.offset, onBytes);
      } catch (error) {
        if (attempt >= MAX_RESUME_ATTEMPTS || !(error instanceof CustodyError) || !['CONNECTION_FAILED', 'UPLOAD_OFFSET_MISMATCH', 'SERVICE_UNAVAILABLE', 'SHUTTING_DOWN'].includes(error.code)) {
          throw error;
        }
        status = await this.uploadStatus(id);
      }
    }
    await this.commitUpload(id, digest);
    return file.size - resumedFrom;
  }

  /**
   * Downloads a version, verifies every file and the version digest, and writes atomically. With
   * `witness`, also proves the registration's log inclusion and re-verifies every attestation.
   */
  async pull(ref: ModelRef | string, options: PullOptions = {}): Promise<PullResult> {
    const r = typeof ref === 'string' ? parseModelRef(ref) : ref;
    const version = await this.getVersion(r);
    return pullVersion(this, r, version, options);
  }
}

function toModelName(model: ModelName | string): ModelName {
  return typeof model === 'string' ? parseModelName(model) : model;
}

function modelPath(m: ModelName): string {
  return `/api/v1/models/${encodeURIComponent(m.namespace)}/${encodeURIComponent(m.name)}`;
}

function versionPath(ref: ModelRef | string): string {
  const r = typeof ref === 'string' ? parseModelRef(ref) : ref;
  return `${modelPath(r)}/versions/${encodeURIComponent(formatSelector(r.selector))}`;
}

/** Validates a server response: the SDK trusts nothing it did not check. */
function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new CustodyError('SERVER_ERROR', 'the server sent an unexpected response');
  return result.data;
}
