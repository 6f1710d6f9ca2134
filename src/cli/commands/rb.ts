/**
 * `upcall rb oss://bucket`: removes a bucket (DeleteBucket). The server refuses one that still
 * holds objects or incomplete multipart uploads (BucketNotEmpty); `--force` first deletes the
 * objects and aborts the uploads (client/prefix-operations.ts), as `mc rb --force` does.
 */
import { Command } from 'commander';
import { abortMultipartUploadsUnder, deleteObjectsUnder } from '../../client/prefix-operations.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { addJsonOption, printJson, type JsonFlag } from '../json-output.ts';
import { parseOssUrl, type OssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

interface RbFlags extends ConnectionFlags, JsonFlag {
  force?: boolean;
}

export function rbCommand(io: CliIo = processIo()): Command {
  const command = new Command('rb')
    .description('remove a bucket')
    .argument('<oss-url>', 'oss://bucket', parseOssUrl)
    .option('--force', 'delete its objects and abort its incomplete uploads first');
  addJsonOption(command);
  addConnectionOptions(command);
  command.addHelpText(
    'after',
    `\n--json prints one line: {"url","bucket","deletedObjects","abortedUploads"}.`,
  );
  command.action((target: OssUrl, flags: RbFlags) =>
    runAction(io, async () => {
      if (target.key !== '') throw new UsageError(`give a bucket only, e.g. oss://${target.bucket}`);
      const client = connect(flags, io);
      let deletedObjects = 0;
      let abortedUploads = 0;
      if (flags.force === true) {
        for await (const batch of deleteObjectsUnder(client, target.bucket, ''))
          deletedObjects += batch.length;
        for await (const _upload of abortMultipartUploadsUnder(client, target.bucket, '')) abortedUploads++;
      }
      await client.deleteBucket(target.bucket);
      const url = `oss://${target.bucket}`;
      if (flags.json === true) {
        printJson(io, { url, bucket: target.bucket, deletedObjects, abortedUploads });
        return;
      }
      const emptied =
        flags.force === true
          ? ` (${deletedObjects} object(s) deleted, ${abortedUploads} upload(s) aborted)`
          : '';
      io.out(`removed bucket ${url}${emptied}\n`);
    }),
  );
  return command;
}
