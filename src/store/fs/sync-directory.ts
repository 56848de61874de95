/**
 * Durability of renames and creations: a file's own fsync does not persist its directory entry,
 * so every publish and session creation also syncs the directory that changed.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { hasErrnoCode } from './errno-code.js';

/** Makes renames and creations in `dir` durable; a no-op where directories cannot be synced. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!hasErrnoCode(error, 'EISDIR') && !hasErrnoCode(error, 'EINVAL') && !hasErrnoCode(error, 'EPERM')) throw error;
  } finally {
    await handle?.close();
  }
}
