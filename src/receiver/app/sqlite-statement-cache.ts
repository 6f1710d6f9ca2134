/**
 * A better-sqlite3 handle for Kysely's SqliteDialect that prepares each SQL text once. It owns
 * nothing but the bounded statement map; closing it closes the database.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/**
 * Kysely's SQLite driver prepares every query anew; compiling the SQL cost more than running
 * the insert (bench/findings.md). Statements are reused per SQL text, a bounded number of them
 * (list filters make the SQL vary).
 */
export function withStatementCache(database: Database.Database, max = 128): SqliteDatabase {
  const statements = new Map<string, Database.Statement>();
  return {
    close: () => database.close(),
    prepare(text) {
      let statement = statements.get(text);
      if (statement === undefined) {
        statement = database.prepare(text);
        statements.set(text, statement);
        if (statements.size > max) statements.delete(statements.keys().next().value!);
      }
      return statement;
    },
  };
}
