/**
 * Pull's own judgement of a version's attestations (SPEC §2, §4.2, §4.4, §5): the client does not
 * take the registry's word that an attestation is valid. Each bundle is opened and its signature
 * verified here, with the key record the registry serves; that record is checked against its
 * `key.added` (and `key.revoked`) event and the attestation against its `attestation.added`
 * event, each proven included in a checkpoint signed by the pinned log key (`LogWitness`).
 *
 * Two outcomes: an attestation that is genuine but no longer counts (its key was revoked with an
 * invalid-from instant at or before it was logged, or the key may not sign it) is reported as
 * invalid; a bundle that does not verify, or a claim the log contradicts, means the registry is
 * lying and fails the pull with VERIFICATION_FAILED.
 *
 * Limit: a revocation the registry hides (serving a revoked key as active) is not visible here;
 * only a full log replay (`custody log verify --full`) can find a `key.revoked` event nobody names.
 */
import { z } from 'zod';
import { openAttestation, verifyAttestationSignature, type OpenedAttestation } from '../crypto/attestation.js';
import { subjectSha256s } from '../crypto/in-toto-statement.js';
import { parsePublicKey, type PublicKeyInfo } from '../crypto/signing-keys.js';
import { parseDigest, type Digest } from '../domain/digest.js';
import { CustodyError } from '../domain/errors.js';
import { compareOmsResources, OMS_PREDICATE_TYPE, parseOmsStatement } from '../oms/oms-statement.js';
import type { CustodyClient } from './custody-client.js';
import type { LogWitness } from './log-witness.js';
import type { AttestationBody, KeyBody, VersionBody } from './responses.js';

/** Largest bundle the registry accepts (SPEC §4.2); a bigger one served back is not one it took. */
export const MAX_ATTESTATION_BUNDLE_BYTES = 512 * 1024;

/** Why a genuine attestation does not count. */
export type InvalidAttestationCode = 'KEY_REVOKED' | 'UNKNOWN_SIGNER' | 'KEY_PREDICATE_NOT_ALLOWED' | 'KEY_NAMESPACE_NOT_ALLOWED' | 'KEY_NOT_YET_VALID' | 'KEY_EXPIRED';

/** The client's verdict on one attestation. */
export interface AttestationVerdict {
  readonly predicateType: string;
  readonly role: 'provenance' | 'attestation' | 'evidence';
  /** Signer key name and id, as the verified key record states them. */
  readonly key: string;
  readonly keyId: string;
  readonly logIndex: number;
  readonly loggedAt: string;
  readonly bundleDigest: string;
  readonly valid: boolean;
  /** Null when valid. */
  readonly code: InvalidAttestationCode | null;
  readonly reason: string | null;
  /** What the registry said; the client's `valid` is the one that counts. */
  readonly serverValid: boolean;
}

export interface AttestationReport {
  readonly version: string;
  readonly valid: number;
  readonly invalid: number;
  readonly attestations: readonly AttestationVerdict[];
}

const fail = (message: string): never => {
  throw new CustodyError('VERIFICATION_FAILED', message);
};

const keyAddedEvent = z
  .object({
    type: z.literal('key.added'),
    key: z.string(),
    keyId: z.string(),
    publicKey: z.string(),
    predicateTypes: z.array(z.string()),
    namespaces: z.array(z.string()).nullable(),
    notBefore: z.string().nullable(),
    notAfter: z.string().nullable(),
  })
  .loose();
const keyRevokedEvent = z
  .object({ type: z.literal('key.revoked'), time: z.string(), key: z.string(), keyId: z.string(), compromisedSince: z.string().nullable(), invalidFrom: z.string() })
  .loose();
const attestationAddedEvent = z
  .object({
    type: z.literal('attestation.added'),
    time: z.string(),
    model: z.string(),
    version: z.string(),
    role: z.string(),
    predicateType: z.string(),
    bundleDigest: z.string(),
    paeDigest: z.string(),
    keyId: z.string(),
    key: z.string(),
  })
  .loose();

function sameList(a: readonly string[], b: readonly string[]): boolean {
  const sortedB = [...b].sort();
  return a.length === b.length && [...a].sort().every((x, i) => x === sortedB[i]);
}

function instant(value: string, what: string): number {
  const time = Date.parse(value);
  if (Number.isNaN(time)) fail(`${what} is not a time: ${JSON.stringify(value.slice(0, 60))}`);
  return time;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A key record whose `key.added` (and `key.revoked`) events were proven in the log. */
interface VerifiedKey {
  readonly record: KeyBody;
  readonly publicKey: PublicKeyInfo;
}

async function verifyKey(client: CustodyClient, witness: LogWitness, record: KeyBody): Promise<VerifiedKey> {
  const name = record.name;
  let publicKey: PublicKeyInfo;
  try {
    publicKey = parsePublicKey(record.publicKey);
  } catch (error) {
    return fail(`the registry serves key ${name} with a public key that does not parse: ${message(error)}`);
  }
  if (publicKey.keyId !== record.keyId) fail(`the registry serves key ${name} under key id ${record.keyId}, but its public key has id ${publicKey.keyId}`);

  const added = keyAddedEvent.safeParse((await witness.verifyEntry(client, record.addedLogIndex, `the key.added event of key ${name}`)).event);
  if (!added.success) return fail(`log entry ${record.addedLogIndex} is not the key.added event of key ${name}`);
  const a = added.data;
  const namespacesMatch = a.namespaces === null || record.namespaces === null ? a.namespaces === record.namespaces : sameList(a.namespaces, record.namespaces);
  if (
    a.key !== name ||
    a.keyId !== record.keyId ||
    a.publicKey !== record.publicKey ||
    !sameList(a.predicateTypes, record.predicateTypes) ||
    !namespacesMatch ||
    a.notBefore !== record.notBefore ||
    a.notAfter !== record.notAfter
  ) {
    fail(`key ${name} as the registry serves it differs from its key.added event (log entry ${record.addedLogIndex})`);
  }

  const revocation = record.revocation;
  if ((record.status === 'revoked') !== (revocation !== null)) fail(`key ${name} is served as ${record.status} with${revocation === null ? 'out' : ''} a revocation`);
  if (revocation !== null) {
    if (revocation.logIndex <= record.addedLogIndex) fail(`key ${name} is said to be revoked (log entry ${revocation.logIndex}) before it was added`);
    const revoked = keyRevokedEvent.safeParse((await witness.verifyEntry(client, revocation.logIndex, `the key.revoked event of key ${name}`)).event);
    if (!revoked.success) return fail(`log entry ${revocation.logIndex} is not the key.revoked event of key ${name}`);
    const r = revoked.data;
    if (r.key !== name || r.keyId !== record.keyId || r.invalidFrom !== revocation.invalidFrom || r.compromisedSince !== revocation.compromisedSince || r.time !== revocation.revokedAt) {
      fail(`the revocation of key ${name} as the registry serves it differs from its key.revoked event (log entry ${revocation.logIndex})`);
    }
  }
  return { record, publicKey };
}

/** Opens the served bundle and checks it is the one the registry describes, about this version. */
function openServed(item: AttestationBody, version: VersionBody, where: string): OpenedAttestation {
  if (item.version !== version.digest) fail(`${where} is listed for ${item.version}, not for ${version.digest}`);
  if (item.bundle === undefined) return fail(`the registry sent no bundle for ${where}`);
  const bytes = Buffer.from(item.bundle, 'utf8');
  if (bytes.length > MAX_ATTESTATION_BUNDLE_BYTES) fail(`the bundle of ${where} is larger than any the registry accepts`);
  let opened: OpenedAttestation;
  try {
    opened = openAttestation(bytes, { maxBytes: MAX_ATTESTATION_BUNDLE_BYTES });
  } catch (error) {
    return fail(`the bundle of ${where} is not a valid attestation: ${message(error)}`);
  }
  if (`sha256:${opened.bundleDigest}` !== item.bundleDigest || `sha256:${opened.paeDigest}` !== item.paeDigest) {
    fail(`the bundle of ${where} does not hash to the digests the registry states for it`);
  }
  if (opened.statement.predicateType !== item.predicateType) fail(`the bundle of ${where} is a ${opened.statement.predicateType.slice(0, 200)} statement, not ${item.predicateType.slice(0, 200)}`);
  // Pipeline evidence names a step's products, not the version (SPEC §4.2); its role is checked against its log event.
  if (item.role !== 'evidence' && !isAbout(opened, version)) fail(`the statement of ${where} is not about ${version.digest}`);
  return opened;
}

/** Subject by version digest; an OMS signature by its full resources list (SPEC §4.1, §4.2). */
function isAbout(opened: OpenedAttestation, version: VersionBody): boolean {
  if (opened.statement.predicateType === OMS_PREDICATE_TYPE) {
    let resources;
    try {
      resources = parseOmsStatement(opened.payload).resources;
    } catch {
      return false;
    }
    const files = version.files.map((f) => ({ path: f.path, sha256: parseDigest(f.digest).hex }));
    const c = compareOmsResources(resources, files, { singleFile: version.singleFile });
    return c.missing.length === 0 && c.extra.length === 0 && c.changed.length === 0;
  }
  return subjectSha256s(opened.statement).includes(parseDigest(version.digest).hex);
}

/** Checks the `attestation.added` event at the attestation's log index says what the registry claims. */
async function verifyAddedEvent(client: CustodyClient, witness: LogWitness, item: AttestationBody, version: VersionBody, where: string): Promise<void> {
  const parsed = attestationAddedEvent.safeParse((await witness.verifyEntry(client, item.logIndex, where)).event);
  if (!parsed.success) return fail(`log entry ${item.logIndex} is not the attestation.added event of ${where}`);
  const e = parsed.data;
  if (
    e.version !== version.digest ||
    e.model !== `${version.namespace}/${version.name}` ||
    e.bundleDigest !== item.bundleDigest ||
    e.paeDigest !== item.paeDigest ||
    e.keyId !== item.keyId ||
    e.key !== item.key ||
    e.predicateType !== item.predicateType ||
    e.role !== item.role ||
    e.time !== item.loggedAt
  ) {
    fail(`${where} as the registry serves it differs from its attestation.added event (log entry ${item.logIndex})`);
  }
}

/** Whether a genuine attestation logged at `loggedAt` counts under its (verified) key. */
function judge(item: AttestationBody, key: KeyBody, namespace: string): { code: InvalidAttestationCode; reason: string } | null {
  const loggedAt = instant(item.loggedAt, `the logging time of attestation ${item.logIndex}`);
  const r = key.revocation;
  if (r !== null && instant(r.invalidFrom, `the revocation time of key ${key.name}`) <= loggedAt) {
    return { code: 'KEY_REVOKED', reason: `key ${key.name} was revoked (${r.reason}); invalid for attestations logged from ${r.invalidFrom}` };
  }
  if (!key.predicateTypes.includes(item.predicateType)) return { code: 'KEY_PREDICATE_NOT_ALLOWED', reason: `key ${key.name} may not sign ${item.predicateType}` };
  if (key.namespaces !== null && !key.namespaces.includes(namespace)) return { code: 'KEY_NAMESPACE_NOT_ALLOWED', reason: `key ${key.name} may not sign for namespace ${namespace}` };
  if (key.notBefore !== null && loggedAt < instant(key.notBefore, `notBefore of key ${key.name}`)) return { code: 'KEY_NOT_YET_VALID', reason: `key ${key.name} is valid only from ${key.notBefore}` };
  if (key.notAfter !== null && loggedAt > instant(key.notAfter, `notAfter of key ${key.name}`)) return { code: 'KEY_EXPIRED', reason: `key ${key.name} expired at ${key.notAfter}` };
  return null;
}

/**
 * Re-verifies every attestation of `version` (whose manifest digest and registration the caller
 * has verified) against the key records and their log events, through `witness`.
 * @throws CustodyError VERIFICATION_FAILED when a bundle does not verify or the log contradicts the registry.
 */
export async function checkAttestations(client: CustodyClient, witness: LogWitness, version: VersionBody): Promise<AttestationReport> {
  const ref = { namespace: version.namespace, name: version.name, selector: { kind: 'digest' as const, digest: version.digest as Digest } };
  const [listed, keys] = await Promise.all([client.listAttestations(ref, { bundles: true }), client.listKeys()]);
  if (listed.version !== version.digest) fail(`asked for the attestations of ${version.digest} but the registry answered for ${listed.version}`);
  const records = new Map<string, KeyBody>();
  for (const key of keys.items) {
    if (records.has(key.keyId)) fail(`the registry lists key id ${key.keyId} twice`);
    records.set(key.keyId, key);
  }
  // One at a time: the witness advances its checkpoint in order.
  const verified = new Map<string, VerifiedKey>();
  const verdicts: AttestationVerdict[] = [];
  for (const item of listed.items) {
    const where = `the ${item.predicateType.slice(0, 200)} attestation at log entry ${item.logIndex}`;
    const opened = openServed(item, version, where);
    const record = records.get(item.keyId);
    let outcome: { code: InvalidAttestationCode; reason: string } | null;
    if (record === undefined) {
      outcome = { code: 'UNKNOWN_SIGNER', reason: `the registry lists no key with id ${item.keyId}` };
    } else {
      if (record.name !== item.key) fail(`${where} names key ${item.key}, but key id ${item.keyId} belongs to ${record.name}`);
      let key = verified.get(item.keyId);
      if (key === undefined) {
        key = await verifyKey(client, witness, record);
        verified.set(item.keyId, key);
      }
      try {
        verifyAttestationSignature(opened, key.publicKey);
      } catch (error) {
        fail(`the signature of ${where} does not verify with key ${record.name}: ${message(error)}`);
      }
      if (item.logIndex <= record.addedLogIndex) fail(`${where} was logged before its key ${record.name} was added`);
      outcome = judge(item, record, version.namespace);
    }
    await verifyAddedEvent(client, witness, item, version, where);
    verdicts.push({
      predicateType: item.predicateType,
      role: item.role,
      key: item.key,
      keyId: item.keyId,
      logIndex: item.logIndex,
      loggedAt: item.loggedAt,
      bundleDigest: item.bundleDigest,
      valid: outcome === null,
      code: outcome?.code ?? null,
      reason: outcome?.reason ?? null,
      serverValid: item.status.valid,
    });
  }
  const valid = verdicts.filter((v) => v.valid).length;
  return { version: version.digest, valid, invalid: verdicts.length - valid, attestations: verdicts };
}
