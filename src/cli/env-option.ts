/** Options that may come from the environment: a flag given on the command line wins. */
import type { CliIo } from './cli-io.ts';
import { UsageError } from './connection.ts';

/** One environment variable through the flag's own parser; a bad value is a usage error naming it. */
export function fromEnv<T>(io: CliIo, name: string, parse: (value: string) => T): T | undefined {
  const value = io.env[name];
  if (value === undefined || value === '') return undefined;
  try {
    return parse(value);
  } catch (error) {
    throw new UsageError(`${name}=${value}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
