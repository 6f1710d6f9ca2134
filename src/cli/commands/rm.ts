/**
 * `upcall rm oss://bucket/key...`: deletes objects (DeleteObject). OSS answers 204 for a key that
 * does not exist, so deleting twice is not an error.
 */
import { Command } from 'commander';
import { processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { formatOssUrl, parseOssUrl, type OssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

export function rmCommand(io: CliIo = processIo()): Command {
  const command = new Command('rm')
    .description('delete objects')
    .argument(
      '<oss-url...>',
      'oss://bucket/key (one or more)',
      (value: string, previous: OssUrl[] | undefined) => [...(previous ?? []), parseOssUrl(value)],
    );
  addConnectionOptions(command);
  command.action((targets: OssUrl[], flags: ConnectionFlags) =>
    runAction(io, async () => {
      const client = connect(flags, io);
      for (const target of targets) {
        if (target.key === '')
          throw new UsageError(`give an object key: ${formatOssUrl(target.bucket, '')}<key>`);
        await client.deleteObject(target.bucket, target.key);
        io.out(`deleted ${formatOssUrl(target.bucket, target.key)}\n`);
      }
    }),
  );
  return command;
}
