/**
 * The reason given when a pending policy proposal is rejected (issue 8 §1, reference/ui-screens.md
 * §2.4 "Approve and Reject forms with a required reason"). It is logged in the `policy.rejected`
 * event and shown on the policy page, so it is plain text: 1–1000 characters after trimming, line
 * breaks allowed (a form's textarea sends CRLF, kept as LF), no other control character and no
 * unpaired surrogate — a reason cannot smuggle terminal escapes or bidi tricks into a log reader.
 */
import { CustodyError } from './errors.js';

/** Longest reason, in UTF-16 code units (the form's `maxlength` counts the same way). */
export const MAX_REJECTION_REASON = 1000;

/** C0 and C1 controls other than LF, DEL, and the Unicode line/paragraph separators and bidi controls. */
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const FORBIDDEN = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** The reason as it will be logged (trimmed, CRLF as LF); VALIDATION_FAILED naming `reason` otherwise. */
export function parseRejectionReason(value: string): string {
  const reason = value.replace(/\r\n?/g, '\n').trim();
  const invalid = (message: string): CustodyError => new CustodyError('VALIDATION_FAILED', message, { details: { field: 'reason' } });
  if (reason.length === 0) throw invalid('a rejection needs a reason');
  if (reason.length > MAX_REJECTION_REASON) throw invalid(`a rejection reason has at most ${MAX_REJECTION_REASON} characters`);
  if (!reason.isWellFormed() || FORBIDDEN.test(reason)) throw invalid('a rejection reason may not hold control characters other than line breaks');
  return reason;
}
