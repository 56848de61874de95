/**
 * Training provenance (SPEC §4.3): the fields Custody reads from a verified SLSA provenance v1
 * statement about a model, and the check that a push carries the ones `provenance.required`
 * lists. The statement is hostile input even after its signature verified (a trusted key may be
 * misused), so every field is read defensively; a malformed field is INVALID_PROVENANCE.
 * Spec: ../../shared/SPEC.md §4.3, ../../shared/reference/attestations.md §3.
 */
import { CustodyError } from './errors.js';
import { isValidName } from './model-ref.js';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const ML_TRAINING_BUILD_TYPE = 'https://custody.dev/ml-training/v1';

/** Fields `provenance.required` may list. */
export const PROVENANCE_FIELDS = ['sourceCommit', 'trainingData', 'builderId', 'sourceRepository', 'entryPoint', 'hyperparameters', 'invocationId', 'startedOn', 'finishedOn'] as const;
export type ProvenanceField = (typeof PROVENANCE_FIELDS)[number];

export const DEFAULT_REQUIRED_PROVENANCE: readonly ProvenanceField[] = ['sourceCommit', 'trainingData', 'builderId'];

export interface ParentRef {
  readonly namespace: string;
  readonly name: string;
  /** `sha256:<hex>` version digest of the parent. */
  readonly digest: string;
}

/** What Custody extracts from a training provenance predicate. */
export interface TrainingProvenance {
  readonly buildType: string;
  readonly builderId: string | null;
  readonly sourceRepository: string | null;
  readonly sourceCommit: string | null;
  readonly entryPoint: string | null;
  readonly hyperparameters: Readonly<Record<string, unknown>> | null;
  /** `sha256:<hex>` of the training data manifest. */
  readonly trainingData: string | null;
  readonly preprocessing: readonly { readonly name: string; readonly digest: string }[];
  readonly parents: readonly ParentRef[];
  readonly invocationId: string | null;
  readonly startedOn: string | null;
  readonly finishedOn: string | null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const GIT_COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const MAX_DEPENDENCIES = 1000;

function invalid(message: string, field: string): CustodyError {
  return new CustodyError('INVALID_PROVENANCE', message, { details: { field } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalObject(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalid(`${field} must be an object`, field);
  return value;
}

function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > 2048) throw invalid(`${field} must be a string of at most 2048 characters`, field);
  return value;
}

function sha256Of(dep: Record<string, unknown>, field: string): string {
  const digest = optionalObject(dep['digest'], `${field}.digest`);
  const hex = digest['sha256'];
  if (typeof hex !== 'string' || !HEX64.test(hex)) throw invalid(`${field}.digest.sha256 must be 64 lowercase hex digits`, `${field}.digest.sha256`);
  return `sha256:${hex}`;
}

/** Parses a `custody:<ns>/<name>` parent URI. */
function parentOf(uri: string, dep: Record<string, unknown>, field: string): ParentRef {
  const [namespace, name, ...rest] = uri.slice('custody:'.length).split('/');
  if (namespace === undefined || name === undefined || rest.length > 0 || !isValidName(namespace) || !isValidName(name)) {
    throw invalid(`${field}.uri must be custody:<namespace>/<name>`, `${field}.uri`);
  }
  return { namespace, name, digest: sha256Of(dep, field) };
}

/** Reads the §4.3 fields out of a SLSA provenance v1 predicate. */
export function extractTrainingProvenance(predicate: Readonly<Record<string, unknown>>): TrainingProvenance {
  const definition = optionalObject(predicate['buildDefinition'], 'buildDefinition');
  const buildType = definition['buildType'];
  if (typeof buildType !== 'string' || buildType.length === 0) throw invalid('buildDefinition.buildType is required', 'buildDefinition.buildType');
  const external = optionalObject(definition['externalParameters'], 'buildDefinition.externalParameters');
  const hyper = external['hyperparameters'];
  if (hyper !== undefined && hyper !== null && !isObject(hyper)) throw invalid('hyperparameters must be an object', 'buildDefinition.externalParameters.hyperparameters');
  const deps = definition['resolvedDependencies'] ?? [];
  if (!Array.isArray(deps) || deps.length > MAX_DEPENDENCIES) {
    throw invalid(`resolvedDependencies must be a list of at most ${MAX_DEPENDENCIES} entries`, 'buildDefinition.resolvedDependencies');
  }

  let sourceCommit: string | null = null;
  let trainingData: string | null = null;
  const preprocessing: { name: string; digest: string }[] = [];
  const parents: ParentRef[] = [];
  deps.forEach((raw: unknown, i) => {
    const field = `buildDefinition.resolvedDependencies[${i}]`;
    if (!isObject(raw)) throw invalid(`${field} must be an object`, field);
    const name = optionalString(raw['name'], `${field}.name`);
    const uri = optionalString(raw['uri'], `${field}.uri`);
    const digest = optionalObject(raw['digest'], `${field}.digest`);
    if (uri?.startsWith('custody:') === true) {
      parents.push(parentOf(uri, raw, field));
    } else if (name === 'training-data') {
      if (trainingData !== null) throw invalid('training-data is named twice', field);
      trainingData = sha256Of(raw, field);
    } else if (name?.startsWith('preprocess:') === true) {
      preprocessing.push({ name: name.slice('preprocess:'.length), digest: sha256Of(raw, field) });
    } else if (digest['gitCommit'] !== undefined) {
      const commit = digest['gitCommit'];
      if (typeof commit !== 'string' || !GIT_COMMIT.test(commit)) throw invalid(`${field}.digest.gitCommit must be a 40- or 64-digit lowercase hex commit`, `${field}.digest.gitCommit`);
      if (sourceCommit !== null && sourceCommit !== commit) throw invalid('more than one source commit', field);
      sourceCommit = commit;
    }
  });

  const run = optionalObject(predicate['runDetails'], 'runDetails');
  const builder = optionalObject(run['builder'], 'runDetails.builder');
  const metadata = optionalObject(run['metadata'], 'runDetails.metadata');
  return {
    buildType,
    builderId: optionalString(builder['id'], 'runDetails.builder.id'),
    sourceRepository: optionalString(external['sourceRepository'], 'buildDefinition.externalParameters.sourceRepository'),
    sourceCommit,
    entryPoint: optionalString(external['entryPoint'], 'buildDefinition.externalParameters.entryPoint'),
    hyperparameters: isObject(hyper) ? hyper : null,
    trainingData,
    preprocessing,
    parents,
    invocationId: optionalString(metadata['invocationId'], 'runDetails.metadata.invocationId'),
    startedOn: optionalString(metadata['startedOn'], 'runDetails.metadata.startedOn'),
    finishedOn: optionalString(metadata['finishedOn'], 'runDetails.metadata.finishedOn'),
  };
}

/** The required fields the provenance lacks (empty when complete). */
export function missingProvenanceFields(provenance: TrainingProvenance, required: readonly ProvenanceField[]): ProvenanceField[] {
  return required.filter((field) => {
    const value = provenance[field];
    return value === null || (typeof value === 'object' && Object.keys(value).length === 0);
  });
}
