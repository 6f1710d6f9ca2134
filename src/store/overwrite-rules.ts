/**
 * `x-oss-forbid-overwrite` as the store applies it: a precondition of the commit, checked in the
 * same atomic step that makes the new object visible, so of two racing writes to a new key with it
 * exactly one succeeds. A backend may also check early (before it reads a body) to refuse sooner,
 * but only the check at the commit decides.
 */
import { ossError } from '../shared/oss-error.ts';
import type { OverwriteOptions } from './object-store.ts';

/**
 * @throws FileAlreadyExists when the write forbids overwriting and an object exists at `key`
 */
export function checkOverwrite(options: OverwriteOptions | undefined, exists: boolean, key: string): void {
  if (options?.forbidOverwrite === true && exists) {
    throw ossError('FileAlreadyExists', { details: { Key: key } });
  }
}
