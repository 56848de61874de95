/**
 * Provenance required at entry (SPEC §4.3, §10 "forged provenance"): on top of the rules every
 * attestation meets (`attestation-intake.ts`), a push's provenance must be SLSA provenance v1 of
 * the ML training build type, carry the fields `provenance.required` lists, and name only
 * parents that are registered versions.
 */
import { CustodyError } from '../domain/errors.js';
import {
  extractTrainingProvenance,
  type ParentRef,
  missingProvenanceFields,
  ML_TRAINING_BUILD_TYPE,
  SLSA_PROVENANCE_V1,
  type ProvenanceField,
  type TrainingProvenance,
} from '../domain/provenance.js';
import type { MetadataReader } from '../store/metadata-store.js';
import { checkAttestation, type AcceptedAttestation, type AttestationSubject } from './attestation-intake.js';

/** Checks an already accepted attestation as a version's training provenance. */
export async function checkProvenance(reader: MetadataReader, accepted: AcceptedAttestation, required: readonly ProvenanceField[]): Promise<TrainingProvenance> {
  const { statement } = accepted.opened;
  if (statement.predicateType !== SLSA_PROVENANCE_V1) {
    throw new CustodyError('PREDICATE_TYPE_MISMATCH', `the provenance must be ${SLSA_PROVENANCE_V1}, not ${statement.predicateType.slice(0, 200)}`);
  }
  const provenance = extractTrainingProvenance(statement.predicate);
  if (provenance.buildType !== ML_TRAINING_BUILD_TYPE) {
    throw new CustodyError('INVALID_PROVENANCE', `buildDefinition.buildType must be ${ML_TRAINING_BUILD_TYPE}`, { details: { field: 'buildDefinition.buildType' } });
  }
  const missing = missingProvenanceFields(provenance, required);
  if (missing.length > 0) {
    throw new CustodyError('PROVENANCE_INCOMPLETE', `the provenance lacks required fields: ${missing.join(', ')}`, { details: { missing } });
  }
  for (const parent of provenance.parents) {
    const found = await reader.getVersionByDigest(parent.namespace, parent.name, parent.digest);
    if (found === undefined) {
      throw new CustodyError('PARENT_NOT_FOUND', `parent ${parent.namespace}/${parent.name}@${parent.digest} is not a registered version`, { details: { parent } });
    }
  }
  return provenance;
}

/** What a push's bundles came to: the provenance (if any) and every accepted bundle, provenance first. */
export interface EntryBundles {
  readonly provenance: { readonly accepted: AcceptedAttestation; readonly parents: readonly ParentRef[] } | null;
  readonly bundles: readonly AcceptedAttestation[];
}

/**
 * Verifies a push's provenance and extra attestations against the keys `reader` sees at `now`;
 * the same signed statement by the same key is kept once.
 */
export async function checkEntryBundles(
  reader: MetadataReader,
  request: { readonly provenance?: string; readonly attestations?: readonly string[] },
  subject: AttestationSubject,
  now: string,
  requiredFields: readonly ProvenanceField[],
): Promise<EntryBundles> {
  const bundles: AcceptedAttestation[] = [];
  const seen = new Set<string>();
  const keep = (accepted: AcceptedAttestation): void => {
    const id = `${accepted.opened.paeDigest}:${accepted.key.keyId}`;
    if (!seen.has(id)) {
      seen.add(id);
      bundles.push(accepted);
    }
  };
  let provenance: EntryBundles['provenance'] = null;
  if (request.provenance !== undefined) {
    const accepted = await checkAttestation(reader, request.provenance, subject, now);
    const extracted = await checkProvenance(reader, accepted, requiredFields);
    provenance = { accepted, parents: extracted.parents };
    keep(accepted);
  }
  for (const bundle of request.attestations ?? []) keep(await checkAttestation(reader, bundle, subject, now));
  return { provenance, bundles };
}

/** Parents without repeats, in first-named order. */
export function dedupeParents(parents: readonly ParentRef[]): ParentRef[] {
  const seen = new Set<string>();
  return parents.filter((p) => {
    const id = `${p.namespace}/${p.name}@${p.digest}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
