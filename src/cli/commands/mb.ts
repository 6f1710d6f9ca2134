/**
 * `upcall mb oss://bucket`: creates a bucket (PutBucket), as `mc mb` / `ossutil mb` do.
 * OSS answers 200 to PutBucket on a bucket you already own, so the CLI looks first (one
 * ListObjects) and reports an existing bucket as `mc mb` does (exit 1; `-p` accepts it).
 */
import { Command } from 'commander';
import { OssServiceError } from '../../client/oss-service-error.ts';
import { EXIT_FAILURE, processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { addJsonOption, printJson, type JsonFlag } from '../json-output.ts';
import { parseOssUrl, type OssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

export function mbCommand(io: CliIo = processIo()): Command {
  const command = new Command('mb')
    .description('make a bucket')
    .argument('<oss-url>', 'oss://bucket', parseOssUrl)
    .option('-p, --ignore-existing', 'succeed if the bucket already exists');
  addJsonOption(command);
  addConnectionOptions(command);
  command.addHelpText('after', `\n--json prints one line: {"url","bucket","created"}.`);
  command.action((target: OssUrl, flags: ConnectionFlags & JsonFlag & { ignoreExisting?: boolean }) =>
    runAction(io, async () => {
      if (target.key !== '') throw new UsageError(`give a bucket only, e.g. oss://${target.bucket}`);
      const client = connect(flags, io);
      const url = `oss://${target.bucket}`;
      const existed = await client.listObjects(target.bucket, { maxKeys: 1 }).then(
        () => true,
        (error: unknown) => {
          if (error instanceof OssServiceError && error.code === 'NoSuchBucket') return false;
          throw error;
        },
      );
      if (existed && flags.ignoreExisting !== true) {
        io.err(`error: bucket ${url} already exists (add -p to accept that)\n`);
        io.setExitCode(EXIT_FAILURE);
        return;
      }
      if (!existed) await client.putBucket(target.bucket);
      if (flags.json === true) printJson(io, { url, bucket: target.bucket, created: !existed });
      else io.out(existed ? `bucket ${url} already exists\n` : `created bucket ${url}\n`);
    }),
  );
  return command;
}
