/**
 * `upcall stat oss://bucket/key`: an object's facts from HeadObject (size, type, ETag, time,
 * CRC-64, user metadata), without downloading it.
 */
import { Command } from 'commander';
import { formatByteSize } from '../byte-size.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { addJsonOption, printJson, type JsonFlag } from '../json-output.ts';
import { formatOssUrl, parseOssUrl, type OssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

export function statCommand(io: CliIo = processIo()): Command {
  const command = new Command('stat')
    .description("show an object's size, type, ETag and metadata")
    .argument('<oss-url>', 'oss://bucket/key', parseOssUrl);
  addJsonOption(command);
  addConnectionOptions(command);
  command.addHelpText(
    'after',
    `
--json prints one line: {"url","bucket","key","size","contentType","etag","lastModified",
"objectType","crc64","metadata"}.`,
  );
  command.action((target: OssUrl, flags: ConnectionFlags & JsonFlag) =>
    runAction(io, async () => {
      if (target.key === '' || target.key.endsWith('/')) {
        throw new UsageError('give an object key, e.g. oss://bucket/photos/cat.jpg');
      }
      const info = await connect(flags, io).headObject(target.bucket, target.key);
      const facts = {
        url: formatOssUrl(target.bucket, target.key),
        bucket: target.bucket,
        key: target.key,
        size: info.contentLength,
        contentType: info.contentType,
        etag: info.etag,
        lastModified: info.lastModified,
        objectType: info.headers['x-oss-object-type'],
        crc64: info.headers['x-oss-hash-crc64ecma'],
        metadata: info.metadata,
      };
      if (flags.json === true) {
        printJson(io, facts);
        return;
      }
      const rows: Array<[string, string | undefined]> = [
        ['Name', facts.url],
        ['Size', `${formatByteSize(facts.size)} (${facts.size} bytes)`],
        ['Content-Type', facts.contentType],
        ['ETag', facts.etag],
        ['Last-Modified', facts.lastModified],
        ['Object type', facts.objectType],
        ['CRC-64', facts.crc64],
        ...Object.entries(facts.metadata).map(([name, value]): [string, string] => [
          `x-oss-meta-${name}`,
          value,
        ]),
      ];
      for (const [name, value] of rows)
        if (value !== undefined) io.out(`${`${name}:`.padEnd(15)} ${value}\n`);
    }),
  );
  return command;
}
