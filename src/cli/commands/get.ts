/**
 * `upcall get oss://bucket/key [FILE]`: downloads an object (GetObject) to FILE, to the key's
 * base name in the current directory when FILE is omitted, or to stdout when FILE is `-`.
 * Invariant: a failed download leaves no partial file behind.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { formatByteSize } from '../byte-size.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { formatOssUrl, parseOssUrl, type OssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

export function getCommand(io: CliIo = processIo()): Command {
  const command = new Command('get')
    .description('download an object')
    .argument('<oss-url>', 'oss://bucket/key', parseOssUrl)
    .argument('[file]', "where to write it; - for stdout (default: the key's file name)");
  addConnectionOptions(command);
  command.action((source: OssUrl, file: string | undefined, flags: ConnectionFlags) =>
    runAction(io, async () => {
      if (source.key === '' || source.key.endsWith('/')) {
        throw new UsageError('give an object key, e.g. oss://bucket/photos/cat.jpg');
      }
      const client = connect(flags, io);
      const object = await client.getObject(source.bucket, source.key);
      if (file === '-') {
        await pipeline(object.body, io.stdout, { end: false });
        return;
      }
      const path = resolve(io.cwd, file ?? basename(source.key));
      try {
        await pipeline(object.body, createWriteStream(path));
      } catch (error) {
        await rm(path, { force: true });
        throw error;
      }
      const size = object.contentLength ?? 0;
      io.out(`downloaded ${formatOssUrl(source.bucket, source.key)} -> ${path} (${formatByteSize(size)})\n`);
    }),
  );
  return command;
}
