/**
 * Readiness of the receiver's SQLite database (docs/operations.md "Health"): it answers a read, and
 * the file it has open is still the one at its path. An open SQLite connection keeps working on a
 * file deleted or replaced underneath it, so every record written after that would vanish at the
 * next start while OSS was told it was stored.
 */
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type Database from 'better-sqlite3';

export interface ReceiverHealthCheck {
  name: string;
  ok: boolean;
  reason?: string;
}

export async function checkSqliteFile(
  database: Database.Database,
  path: string,
  opened: Pick<Stats, 'dev' | 'ino'>,
): Promise<ReceiverHealthCheck> {
  const name = 'receiver-database';
  if (!database.open) return { name, ok: false, reason: 'the receiver database is closed' };
  try {
    database.prepare('SELECT 1 FROM uploads LIMIT 1').get();
  } catch (error) {
    return { name, ok: false, reason: `the receiver database fails a read: ${String(error)}` };
  }
  let now: Stats;
  try {
    now = await stat(path);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    return {
      name,
      ok: false,
      reason: `${path} is gone (${typeof code === 'string' ? code : String(error)})`,
    };
  }
  if (now.dev !== opened.dev || now.ino !== opened.ino) {
    return { name, ok: false, reason: `${path} was replaced by another file since it was opened` };
  }
  return { name, ok: true };
}
