/**
 * `upcall callbacks [--failed] [--bucket B] [--key K] [--since T] [--limit N] [--json]`: the
 * storage server's callback log, newest first (issue 18); and
 * `upcall callbacks redeliver <request-id>|--failed`: sends logged callbacks again (the same body
 * to the same URLs, a fresh Date and signature) and prints each outcome.
 *
 * Both talk to the admin endpoint `/_upcall/callbacks` with the endpoint and credentials every
 * command takes (connection.ts); only the root key is let in. Exit status of a redelivery: 0 when
 * every callback was delivered, 2 (as for an upload whose callback failed) when one was not.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { LoggedCallback, RedeliveryResult } from '../../client/callback-log-types.ts';
import { EXIT_CALLBACK_FAILED, processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { parseTimeOrAgo } from '../duration.ts';
import { formatOssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

interface ListFlags extends ConnectionFlags {
  failed?: boolean;
  bucket?: string;
  key?: string;
  since?: string;
  limit: number;
  json?: boolean;
}

interface RedeliverFlags extends ConnectionFlags {
  failed?: boolean;
  json?: boolean;
}

/** The endpoint's own page size cap; longer listings follow the marker. */
const PAGE_LIMIT = 1000;

function parseLimit(value: string): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1)) throw new InvalidArgumentError('expected a whole number, at least 1');
  return n;
}

export function callbacksCommand(io: CliIo = processIo()): Command {
  const list = new Command('callbacks')
    .description('list the callbacks the storage server attempted (its callback log), newest first')
    .option('--failed', 'only callbacks whose latest delivery failed')
    .option('--bucket <bucket>', 'only uploads to this bucket')
    .option('--key <key>', 'only uploads of this object key')
    .option('--since <time>', 'only callbacks since this ISO 8601 time, or this long ago (30m, 2h, 7d)')
    .option('--limit <n>', 'at most this many', parseLimit, 100)
    .option('--json', 'print the log entries as JSON (one array)');
  addConnectionOptions(list);
  list.action((flags: ListFlags) =>
    runAction(io, async () => {
      const client = connect(flags, io);
      const since =
        flags.since === undefined ? undefined : parseTimeOrAgo(flags.since, new Date()).toISOString();
      const found: LoggedCallback[] = [];
      let marker: string | undefined;
      do {
        const page = await client.listCallbacks({
          failed: flags.failed,
          bucket: flags.bucket,
          key: flags.key,
          since,
          limit: Math.min(PAGE_LIMIT, flags.limit - found.length),
          marker,
        });
        found.push(...page.callbacks);
        marker = page.nextMarker;
      } while (marker !== undefined && found.length < flags.limit);
      if (flags.json === true) {
        io.out(`${JSON.stringify(found, null, 2)}\n`);
        return;
      }
      for (const callback of found) io.out(`${describe(callback)}\n`);
      if (found.length === 0)
        io.err(flags.failed === true ? 'no failed callbacks\n' : 'no callbacks logged\n');
    }),
  );

  const redeliver = new Command('redeliver')
    .description('send logged callbacks again: one by its request id, or every failed one')
    .argument('[request-id]', 'the x-oss-request-id of the upload whose callback to send again')
    .option('--failed', 'every callback whose latest delivery failed')
    .option('--json', 'print the results as JSON');
  addConnectionOptions(redeliver);
  redeliver.action((requestId: string | undefined) =>
    runAction(io, async () => {
      // The parent `callbacks` shares these option names and, unless the program has positional
      // options, parses them first wherever they stand: read both levels.
      const flags = redeliver.optsWithGlobals<RedeliverFlags>();
      if ((requestId === undefined) === (flags.failed !== true)) {
        throw new UsageError('give either a request id or --failed');
      }
      const client = connect(flags, io);
      const results = await client.redeliverCallbacks(
        requestId === undefined ? { failed: true } : { requestId },
      );
      if (flags.json === true) io.out(`${JSON.stringify(results, null, 2)}\n`);
      else for (const result of results) io.out(`${describeResult(result)}\n`);
      if (results.length === 0 && flags.json !== true) io.err('no failed callbacks to redeliver\n');
      if (results.some((result) => !result.ok)) io.setExitCode(EXIT_CALLBACK_FAILED);
    }),
  );
  list.addCommand(redeliver);
  return list;
}

function describe(callback: LoggedCallback): string {
  const state = callback.failed ? 'FAILED' : 'ok    ';
  const tries = callback.deliveries.length > 1 ? ` (${callback.deliveries.length} deliveries)` : '';
  const reason = callback.failed ? `  ${callback.reason}` : '';
  return `${callback.createdAt}  ${state}  ${callback.requestId}  ${callback.operation}  ${formatOssUrl(callback.bucket, callback.key)}${tries}${reason}`;
}

function describeResult(result: RedeliveryResult): string {
  return result.ok ? `delivered ${result.requestId}` : `FAILED    ${result.requestId}  ${result.message}`;
}
