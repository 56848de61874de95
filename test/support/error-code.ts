/**
 * The stable error code a call ends with, for tests that assert refusals: the `CustodyError`
 * code, or `resolved` when the call succeeded. Anything that is not a CustodyError is rethrown
 * (an uncaught TypeError is a bug, not a refusal).
 */
import { CustodyError } from '../../src/domain/errors.js';

export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CustodyError) return error.code;
    throw error;
  }
  return 'resolved';
}
