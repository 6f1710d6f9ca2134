/**
 * The local side of `put` and `get`: a missing file or a directory is a usage error that names the
 * path as the user typed it and where it was looked for, never a raw `ENOENT: … stat '…'`; an
 * existing download target is kept unless `--force` says otherwise.
 */
import { stat } from 'node:fs/promises';
import { UsageError } from './connection.ts';

/** The size of the regular file `path` (`file` as typed). @throws UsageError when it is missing or not a file */
export async function statLocalFile(file: string, path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`${file} is not a file (upload a directory's files one by one)`);
    return info.size;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') throw new UsageError(`no such file: ${file} (looked for ${path})`);
    if (code === 'EACCES') throw new UsageError(`cannot read ${file}: permission denied (${path})`);
    throw error;
  }
}

/** @throws UsageError when `path` already exists (any kind of entry) */
export async function refuseToOverwrite(file: string, path: string): Promise<void> {
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new UsageError(
      `${file} already exists (${path}); add --force to overwrite it, or name another file`,
    );
  }
}
