/**
 * The server's responses as the SDK checks them, with the very schemas the server documents in
 * its OpenAPI: a registry (or something pretending to be one) is not trusted to send
 * well-formed data.
 */
import type { z } from 'zod';
import {
  attestationResponse,
  attestationsResponse,
  keyResponse,
  keysResponse,
  lineageResponse,
  metadataResponse,
  modelsResponse,
  uploadResponse,
  versionResponse,
  versionsResponse,
} from '../api/schemas.js';
import { whoamiResponse } from '../api/identity-schemas.js';

export const versionSchema = versionResponse;
export const versionsPageSchema = versionsResponse;
export const modelsPageSchema = modelsResponse;
export const uploadStatusSchema = uploadResponse;
export const whoamiSchema = whoamiResponse;
/** A trusted signer key (SPEC §2, §4.2), with the receipt of the change when one was made. */
export const keySchema = keyResponse;
export const keysSchema = keysResponse;
/** One stored attestation with the server's judgement of it now. */
export const attestationSchema = attestationResponse;
export const attestationsSchema = attestationsResponse;
/** The verified metadata table (SPEC §4.2) and the unverified annotations. */
export const verifiedMetadataSchema = metadataResponse;
/** Ancestors and descendants through verified training provenance (SPEC §4.3). */
export const lineageSchema = lineageResponse;

export type VersionBody = z.infer<typeof versionSchema>;
export type VersionsPage = z.infer<typeof versionsPageSchema>;
export type ModelsPage = z.infer<typeof modelsPageSchema>;
export type UploadStatusBody = z.infer<typeof uploadStatusSchema>;
export type Whoami = z.infer<typeof whoamiSchema>;
export type KeyBody = z.infer<typeof keySchema>;
export type KeysPage = z.infer<typeof keysSchema>;
export type AttestationBody = z.infer<typeof attestationSchema>;
export type AttestationsPage = z.infer<typeof attestationsSchema>;
export type VerifiedMetadataBody = z.infer<typeof verifiedMetadataSchema>;
export type MetadataRowBody = VerifiedMetadataBody['seed'][number];
export type LineageBody = z.infer<typeof lineageSchema>;
export type LineageNodeBody = LineageBody['nodes'][number];
