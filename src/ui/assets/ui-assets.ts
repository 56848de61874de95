/**
 * The UI's static assets by name, served under `/ui/assets/` with their content types. They are
 * TypeScript modules so the build (`tsc`) carries them into `dist/` with the code.
 */
import { VERIFY_LOG_JS } from '../islands/island-script.js';
import { CUSTODY_CSS } from './custody-css.js';
import { LINEAGE_CSS } from './lineage-css.js';

export interface UiAsset {
  readonly contentType: string;
  readonly body: string;
}

export const UI_ASSETS: ReadonlyMap<string, UiAsset> = new Map([
  ['custody.css', { contentType: 'text/css; charset=utf-8', body: CUSTODY_CSS + LINEAGE_CSS }],
  ['verify-log.js', { contentType: 'text/javascript; charset=utf-8', body: VERIFY_LOG_JS }],
]);
