/** Every page of the web UI, in one table (the UI's counterpart of `api/routes/all-routes.ts`). */
import type { PageDef } from '../page.js';
import { auditPages } from './audit-page.js';
import { keyDetailPages } from './key-detail-page.js';
import { keysPages } from './keys-page.js';
import { lineagePages } from './lineage-page.js';
import { logPages } from './log-page.js';
import { modelsPages } from './models-page.js';
import { oidcPages } from './oidc-pages.js';
import { policyPages } from './policy-page.js';
import { policyPreviewPages } from './policy-preview-page.js';
import { promotePages } from './promote-page.js';
import { sessionPages } from './session-pages.js';
import { versionPages } from './version-pages.js';

export function allPages(): readonly PageDef[] {
  return [...sessionPages, ...oidcPages, ...modelsPages, ...versionPages, ...promotePages, ...lineagePages, ...policyPages, ...policyPreviewPages, ...logPages, ...keysPages, ...keyDetailPages, ...auditPages];
}
