/**
 * The one parser of `--port`-style options for every command that listens (server, receiver,
 * dev): decimal digits only, 0..65535, 0 meaning any free port. `Number()` alone would take
 * `''` as 0, `1e3` as 1000 and `80.0` as 80, each a port the user never typed.
 */
import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError('expected a port number 0..65535');
  return port;
}
