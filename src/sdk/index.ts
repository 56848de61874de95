/**
 * The public SDK entry (`import { CustodyClient } from 'custody'`). Named exports only; nothing
 * else of the package is public API.
 */
export { CustodyClient, type PushOptions, type PushResult, type ModelsPage, type VersionBody, type VersionsPage, type Whoami } from './custody-client.js';
export type { PullOptions, PullResult } from './pull-version.js';
export { scanModel, omsResourcesFor, type LocalModel, type LocalFile, type ScanOptions } from './local-model.js';
export { CustodyError, type ErrorCode } from '../domain/errors.js';
export { parseModelRef, parseModelName, type ModelRef, type ModelName } from '../domain/model-ref.js';
