/**
 * HTML built by tagged templates that escape by default (issue 8 §3: every user-controlled
 * string — model names, annotations, attestation fields — is escaped). `html\`<td>${name}</td>\``
 * escapes `name`; only another `Html` value (or an array of them) is inserted as markup. There is
 * no way to mark an arbitrary string as safe from outside this module except `trustedMarkup`,
 * which exists for constant markup the server itself wrote (and says so at each call).
 *
 * Escaping covers text and quoted attribute values alike (`& < > " '`); templates must quote
 * every attribute value. URLs in `href`/`src` go through `safeHref`, which admits only relative
 * paths and http(s) URLs, so a `javascript:` URL never reaches an attribute.
 */

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A piece of markup produced by `html` (or `trustedMarkup`): inserted as is by `html`. */
export class Html {
  readonly #markup: string;

  /** @internal Use `html` or `trustedMarkup`. */
  constructor(markup: string, token: symbol) {
    if (token !== CONSTRUCT) throw new TypeError('Html values come from html`…` or trustedMarkup()');
    this.#markup = markup;
  }

  toString(): string {
    return this.#markup;
  }
}

const CONSTRUCT = Symbol('Html');

/** What a template may interpolate: text (escaped), numbers, nested markup, lists of them, or nothing. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

/** The tagged template: literal parts are markup, interpolations are escaped unless they are `Html`. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out, CONSTRUCT);
}

/**
 * Markup the server wrote itself (a constant SVG icon, a prerendered block from `html`). Never
 * pass anything derived from a request, the database, a bundle or a config file.
 */
export function trustedMarkup(markup: string): Html {
  return new Html(markup, CONSTRUCT);
}

/**
 * An `href`/`src` value that cannot run script: a path on this server (`/…`, not `//…`), or an
 * absolute http(s) URL; anything else becomes `#`.
 */
export function safeHref(url: string): string {
  if (url.startsWith('/') && !url.startsWith('//') && !url.startsWith('/\\')) return url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.toString() : '#';
  } catch {
    return '#';
  }
}

/** A path segment for a URL built from data (model names, digests). */
export function pathSegment(text: string): string {
  return encodeURIComponent(text);
}
