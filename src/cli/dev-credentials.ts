/**
 * The access key of an `upcall dev` setup: `UPCALL_ACCESS_KEY_ID` / `UPCALL_ACCESS_KEY_SECRET`
 * when set, otherwise a key generated on first start and kept in `<data>/credentials.json`
 * (mode 0600), so restarts keep working with clients and snippets already configured.
 * `upcall server` keeps its generated key the same way (when it listens beyond loopback).
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
  return (await storedAccessKey(dataDir)) ?? generateAccessKey(dataDir);
}

/** The key kept in `<dataDir>/credentials.json`, or undefined when there is none. */
export async function storedAccessKey(dataDir: string): Promise<AccessKey | undefined> {
  try {
    const stored = JSON.parse(await readFile(join(dataDir, CREDENTIALS_FILE), 'utf8')) as Partial<AccessKey>;
    if (typeof stored.accessKeyId === 'string' && typeof stored.accessKeySecret === 'string') {
      return { accessKeyId: stored.accessKeyId, accessKeySecret: stored.accessKeySecret, source: 'stored' };
    }
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
  return undefined;
}

/** A new random key, written to `<dataDir>/credentials.json` (mode 0600) before it is returned. */
export async function generateAccessKey(dataDir: string): Promise<AccessKey> {
  const key = {
    // The LTAI prefix mirrors Alibaba Cloud AccessKey ids, so SDK-side validators accept it.
    accessKeyId: `LTAI${randomBytes(10).toString('hex').toUpperCase()}`,
    accessKeySecret: randomBytes(20).toString('base64url'),
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, CREDENTIALS_FILE), `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  return { ...key, source: 'generated' };
}
