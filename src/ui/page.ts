/**
 * How a UI page is declared (issue 8): method, path, who may see it — the same permissions and
 * scopes as the API routes (SPEC §7), so RBAC applies to every page and form exactly as to the
 * API — whether it needs a recent sign-in, and the handler that renders it from the same
 * service functions the API uses. `ui-front.ts` dispatches them.
 */
import type { IncomingMessage } from 'node:http';
import type { Permission, Scope } from '../auth/permissions.js';
import type { Services } from '../api/services.js';
import type { Actor } from '../service/auth-service.js';
import type { UiSessionView } from '../service/session-service.js';
import type { Html } from './html.js';

/** Who may use a page: anyone, any signed-in principal, or a holder of a permission at a scope. */
export type PageAccess =
  | 'public'
  | 'signed-in'
  | { readonly permission: Permission; readonly scope: 'global' | 'any' | ((params: Readonly<Record<string, string>>) => Scope) };

/** The signed-in principal of a request, with its session (CSRF token, sign-in time). */
export interface SignedIn {
  readonly actor: Actor;
  readonly session: UiSessionView;
}

export interface PageContext {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  /** The submitted form of a POST (urlencoded), CSRF already checked. */
  readonly form: URLSearchParams;
  /** Undefined only on public pages visited without a session. */
  readonly signedIn: SignedIn | undefined;
  readonly services: Services;
  /** The session cookie as sent (sign-out and re-authentication need it). */
  readonly sessionCookie: string | undefined;
  /** This response's CSP nonce: a page's `<script nonce="…">` must carry it to run. */
  readonly nonce: string;
  /**
   * Records a UI action that changes who is signed in or takes data away (sign-in, sign-out, an
   * export) in the server's structured log as `ui audit`, with the signed-in principal and the
   * path. Fields are plain facts — never a token, cookie or CSRF value.
   */
  readonly audit: (action: UiAuditAction, fields?: Readonly<Record<string, string | number | null>>) => void;
}

/** The UI actions recorded by {@link PageContext.audit}. */
export type UiAuditAction = 'session.started' | 'session.refused' | 'session.ended' | 'audit.exported';

/** What a page handler returns: a page to render, or a redirect (after a form post). */
export type PageResult =
  | { readonly kind: 'page'; readonly title: string; readonly body: Html; readonly status?: number }
  | {
      readonly kind: 'redirect';
      readonly location: string;
      readonly setCookies?: readonly string[];
      /** Only single sign-on sends the browser elsewhere (the identity provider); every other redirect stays on this server. */
      readonly offSite?: boolean;
    }
  /** A file to save (an export): sent as an attachment named `filename`, never rendered. */
  | { readonly kind: 'download'; readonly contentType: string; readonly filename: string; readonly body: string }
  /** Data a page's script reads (JSON, a signed note, tile bytes): sent inline with its type, never rendered as HTML. */
  | { readonly kind: 'data'; readonly contentType: string; readonly body: string | Uint8Array };

export interface PageDef {
  readonly method: 'GET' | 'POST';
  /** Path template as for API routes (`/models/{namespace}/{name}`). */
  readonly path: string;
  readonly access: PageAccess;
  /** Approving, revoking a key and activating a policy need a sign-in within `ui.recentAuthMinutes`. */
  readonly recentAuth?: boolean;
  /**
   * The page checks a credential (sign-in): clients that fail too often are refused with 429,
   * and a 401 answer counts as a failure — the same limiter as bearer authentication.
   */
  readonly authAttempt?: boolean;
  handle(ctx: PageContext): Promise<PageResult>;
}

/** Identity function that documents a page declaration. */
export function definePage(page: PageDef): PageDef {
  return page;
}

/** The signed-in principal of a page that is not public (the front guarantees one). */
export function requireSignedIn(ctx: { readonly signedIn: SignedIn | undefined }): SignedIn {
  if (ctx.signedIn === undefined) throw new Error('page requires a signed-in principal');
  return ctx.signedIn;
}
