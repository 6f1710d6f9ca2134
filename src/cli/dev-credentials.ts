/**
 * The access key of an `upcall dev` setup: `UPCALL_ACCESS_KEY_ID` / `UPCALL_ACCESS_KEY_SECRET`
 * when set, otherwise a key generated on first start and kept in `<data>/credentials.json`
 * (mode 0600), so restarts keep working with clients and snippets already configured.
 * Invariant: a generated secret is 160 bits of randomness and is never regenerated while the file
 * exists.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
  /** Where it came from, for the banner. */
  source: 'env' | 'generated' | 'stored';
}

export const CREDENTIALS_FILE = 'credentials.json';

export async function devAccessKey(
  dataDir: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<AccessKey> {
  const envId = env['UPCALL_ACCESS_KEY_ID'];
  const envSecret = env['UPCALL_ACCESS_KEY_SECRET'];
  if (envId !== undefined && envSecret !== undefined) {
    return { accessKeyId: envId, accessKeySecret: envSecret, source: 'env' };
  }
  const path = join(dataDir, CREDENTIALS_FILE);
  try {
    const stored = JSON.parse(await readFile(path, 'utf8')) as Partial<AccessKey>;
    if (typeof stored.accessKeyId === 'string' && typeof stored.accessKeySecret === 'string') {
      return { accessKeyId: stored.accessKeyId, accessKeySecret: stored.accessKeySecret, source: 'stored' };
    }
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
  const key = {
    // The LTAI prefix mirrors Alibaba Cloud AccessKey ids, so SDK-side validators accept it.
    accessKeyId: `LTAI${randomBytes(10).toString('hex').toUpperCase()}`,
    accessKeySecret: randomBytes(20).toString('base64url'),
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(path, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  return { ...key, source: 'generated' };
}
