/**
 * `upcall rm oss://bucket/key...`: deletes objects and says what happened.
 *
 * OSS's DeleteObject answers 204 whether or not the key existed, so a bare DELETE cannot tell a
 * typo from a deletion: each key is looked up first (HeadObject) and a missing one is reported
 * (exit 1; `--force` accepts it silently, as `rm -f` does). A prefix (`oss://b/dir/`, or any key
 * with `--recursive`) is refused without `--recursive`; with it, every object whose key starts
 * with the prefix as written is deleted in DeleteMultipleObjects batches of 1000
 * (client/prefix-operations.ts), and each deleted key is printed.
 */
import { Command } from 'commander';
import { OssServiceError } from '../../client/oss-service-error.ts';
import { deleteObjectsUnder } from '../../client/prefix-operations.ts';
import { EXIT_FAILURE, processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { addJsonOption, printJson, type JsonFlag } from '../json-output.ts';
import { formatOssUrl, parseOssUrl, type OssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

interface RmFlags extends ConnectionFlags, JsonFlag {
  recursive?: boolean;
  force?: boolean;
}

export function rmCommand(io: CliIo = processIo()): Command {
  const command = new Command('rm')
    .description('delete objects, or with --recursive everything under a prefix')
    .argument(
      '<oss-url...>',
      'oss://bucket/key, or oss://bucket/prefix/ with --recursive (one or more)',
      (value: string, previous: OssUrl[] | undefined) => [...(previous ?? []), parseOssUrl(value)],
    )
    .option('-r, --recursive', 'delete every object whose key starts with the given prefix')
    .option('-f, --force', 'do not report keys or prefixes that match nothing');
  addJsonOption(command);
  addConnectionOptions(command);
  command.addHelpText(
    'after',
    `
Examples:
  upcall rm oss://uploads/photos/cat.jpg
  upcall rm -r oss://uploads/photos/        everything under photos/
  upcall rm -r oss://uploads                everything in the bucket (then \`upcall rb\` removes it)

The prefix is matched as written, as ossutil does: oss://b/photos also matches photos2/...;
end it with / for one folder. --json prints one line per deleted object: {"url","bucket","key"}.

Exit status: 0 all deleted, 1 a key or prefix matched nothing (unless --force) or a request failed.`,
  );
  command.action((targets: OssUrl[], flags: RmFlags) =>
    runAction(io, async () => {
      for (const target of targets) {
        if (flags.recursive !== true && (target.key === '' || target.key.endsWith('/'))) {
          throw new UsageError(
            `${formatOssUrl(target.bucket, target.key)} is a prefix; add --recursive (-r) to delete everything under it, or name one object`,
          );
        }
      }
      const client = connect(flags, io);
      const deleted = (bucket: string, key: string): void => {
        if (flags.json === true) printJson(io, { url: formatOssUrl(bucket, key), bucket, key });
        else io.out(`deleted ${formatOssUrl(bucket, key)}\n`);
      };
      const nothing = (message: string): void => {
        if (flags.force === true) return;
        io.err(`error: ${message}\n`);
        io.setExitCode(EXIT_FAILURE);
      };
      for (const { bucket, key } of targets) {
        if (flags.recursive === true) {
          let count = 0;
          for await (const batch of deleteObjectsUnder(client, bucket, key)) {
            for (const one of batch) deleted(bucket, one);
            count += batch.length;
          }
          if (count === 0) nothing(`nothing to delete under ${formatOssUrl(bucket, key)}`);
          else if (flags.json !== true)
            io.err(`${count} object(s) deleted under ${formatOssUrl(bucket, key)}\n`);
          continue;
        }
        if (!(await exists(client, bucket, key))) {
          nothing(`no such object: ${formatOssUrl(bucket, key)} (nothing deleted)`);
          continue;
        }
        await client.deleteObject(bucket, key);
        deleted(bucket, key);
      }
    }),
  );
  return command;
}

async function exists(client: ReturnType<typeof connect>, bucket: string, key: string): Promise<boolean> {
  try {
    await client.headObject(bucket, key);
    return true;
  } catch (error) {
    if (error instanceof OssServiceError && error.code === 'NoSuchKey') return false;
    throw error;
  }
}
