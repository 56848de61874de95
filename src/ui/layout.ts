/**
 * The page shell every UI page shares (reference/ui-screens.md §2.1): the document head with the
 * stylesheet, a skip link, the header with the signed-in principal, its roles, the session's
 * expiry and a POST-only sign-out form (with the session's CSRF token), and the navigation.
 * Pages render only their `<main>` content.
 */
import { CUSTODY_VERSION } from '../version.js';
import { html, type Html } from './html.js';
import type { SignedIn } from './page.js';

/** The navigation entries, in order: only pages that exist are listed. */
const NAVIGATION: readonly { readonly href: string; readonly label: string }[] = [
  { href: '/models', label: 'Models' },
  { href: '/policy', label: 'Policy' },
  { href: '/log/explorer', label: 'Log' },
  { href: '/keys', label: 'Keys' },
  { href: '/audit', label: 'Audit' },
];

/** A hidden form field carrying the session's CSRF token (every unsafe form has one). */
export function csrfField(signedIn: SignedIn): Html {
  return html`<input type="hidden" name="csrf" value="${signedIn.session.csrfToken}">`;
}

function header(signedIn: SignedIn | undefined, currentPath: string): Html {
  const nav = html`<nav aria-label="Main"><ul>${NAVIGATION.map(
    (item) => html`<li><a href="${item.href}"${currentPath.startsWith(item.href) ? html` aria-current="page"` : ''}>${item.label}</a></li>`,
  )}</ul></nav>`;
  if (signedIn === undefined) return html`<header class="site"><a class="brand" href="/">Custody</a></header>`;
  const { actor, session } = signedIn;
  const roles = [...new Set(actor.bindings.map((b) => b.role))].sort();
  return html`<header class="site">
  <a class="brand" href="/">Custody</a>
  ${nav}
  <div class="who">
    <span>Signed in as <strong>${actor.principal.name}</strong> (${actor.principal.kind})</span>
    <span>Roles: ${roles.length === 0 ? 'none' : roles.join(', ')}</span>
    <span>Session until <time datetime="${session.expiresAt}">${session.expiresAt.replace('T', ' ').slice(0, 16)} UTC</time></span>
    <form method="post" action="/sign-out">${csrfField(signedIn)}<button type="submit">Sign out</button></form>
  </div>
</header>`;
}

/** A whole HTML document around a page's main content. */
export function renderDocument(options: { readonly title: string; readonly main: Html; readonly signedIn: SignedIn | undefined; readonly path: string; readonly nonce: string }): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Custody</title>
<link rel="stylesheet" href="/ui/assets/custody.css">
<link rel="icon" href="data:,">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${header(options.signedIn, options.path)}
<main id="main">
${options.main}
</main>
<footer class="site">Custody ${CUSTODY_VERSION}</footer>
</body>
</html>
`.toString();
}
