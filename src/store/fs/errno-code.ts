/**
 * Recognising Node's system errors by code, so that the fs store can turn the expected ones
 * (ENOENT, EEXIST, …) into typed errors and let every other one through.
 */

/** Whether `error` is a Node system error with this `code` (e.g. 'ENOENT'). */
export function hasErrnoCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
