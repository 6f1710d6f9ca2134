/**
 * The server's master key for server-side encryption (object-cipher.ts): from the caller (the CLI
 * reads `UPCALL_MASTER_KEY`, base64 of 32 bytes), else `<dataDir>/master.key`, generated once on
 * first use with mode 0600. Losing the file loses every encrypted object; back it up with the data.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkMasterKey } from './object-cipher.ts';

export const MASTER_KEY_FILE = 'master.key';

/** A base64 master key as an operator writes it. @throws Error when it is not 32 bytes of base64 */
export function parseMasterKey(base64: string): Buffer {
  const trimmed = base64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw new Error('The server-side encryption master key must be base64 of 32 bytes.');
  }
  return checkMasterKey(Buffer.from(trimmed, 'base64'));
}

/** The key kept in `dataDir`, generated (and written exclusively, so two starts agree) when missing. */
export async function loadOrCreateMasterKey(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, MASTER_KEY_FILE);
  try {
    return parseMasterKey(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32);
  try {
    await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return parseMasterKey(await readFile(path, 'utf8'));
  }
}
