/**
 * The server's responses as the SDK checks them, with the very schemas the server documents in
 * its OpenAPI: a registry (or something pretending to be one) is not trusted to send
 * well-formed data.
 */
import type { z } from 'zod';
import { modelsResponse, uploadResponse, versionResponse, versionsResponse, whoamiResponse } from '../api/schemas.js';

export const versionSchema = versionResponse;
export const versionsPageSchema = versionsResponse;
export const modelsPageSchema = modelsResponse;
export const uploadStatusSchema = uploadResponse;
export const whoamiSchema = whoamiResponse;

export type VersionBody = z.infer<typeof versionSchema>;
export type VersionsPage = z.infer<typeof versionsPageSchema>;
export type ModelsPage = z.infer<typeof modelsPageSchema>;
export type UploadStatusBody = z.infer<typeof uploadStatusSchema>;
export type Whoami = z.infer<typeof whoamiSchema>;
