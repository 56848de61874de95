/**
 * A digest as the UI shows it (reference/ui-screens.md: "every digest is a copyable `<code>`
 * element with a shortened display"): the element holds the whole digest — selecting or copying
 * it takes all of it, and screen readers read all of it — while the stylesheet shortens what is
 * drawn with an ellipsis.
 */
import { html, type Html } from './html.js';

/** A digest in a `<code class="digest">`, drawn shortened, copied whole. */
export function digestCode(digest: string): Html {
  return html`<code class="digest" title="${digest}">${digest}</code>`;
}
