/**
 * The status pill (reference/ui-screens.md §2.1): a status is always text plus an icon, never
 * colour alone, with an `aria-label` that says what it means in words.
 */
import { html, type Html } from './html.js';

export type Status = 'PASS' | 'FAIL' | 'MISSING' | 'EXPIRED' | 'PENDING' | 'REVOKED' | 'ERROR';

const ICONS: Readonly<Record<Status, string>> = { PASS: '✓', FAIL: '✗', MISSING: '○', EXPIRED: '⌛', PENDING: '…', REVOKED: '⊘', ERROR: '!' };

/** A pill such as "✓ PASS"; `label` is the spoken description (e.g. "Gate failed: 1 of 4 requirements missing"). */
export function statusPill(status: Status, label?: string): Html {
  return html`<span class="pill pill-${status.toLowerCase()}" role="img" aria-label="${label ?? status}"><span aria-hidden="true">${ICONS[status]}</span> ${status}</span>`;
}
