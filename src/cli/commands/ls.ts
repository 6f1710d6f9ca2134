/**
 * `upcall ls [oss://bucket[/prefix]]`: lists buckets (no argument) or the objects under a prefix,
 * one level deep (`/` as delimiter, directories end in `/`) unless `--recursive`. Follows
 * NextMarker through every page. `--json` prints one line per bucket, object or folder.
 */
import { Command } from 'commander';
import { formatByteSize } from '../byte-size.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, type ConnectionFlags } from '../connection.ts';
import { addJsonOption, printJson, type JsonFlag } from '../json-output.ts';
import { parseOssUrl, type OssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

interface LsFlags extends ConnectionFlags, JsonFlag {
  recursive?: boolean;
  long?: boolean;
}

export function lsCommand(io: CliIo = processIo()): Command {
  const command = new Command('ls')
    .description('list buckets, or the objects in a bucket')
    .argument('[oss-url]', 'oss://bucket or oss://bucket/prefix/', parseOssUrl)
    .option('-r, --recursive', 'list every object under the prefix, not just one level')
    .option('-l, --long', 'show size, last-modified time and ETag');
  addJsonOption(command);
  addConnectionOptions(command);
  command.addHelpText(
    'after',
    `
--json prints one line per entry: {"url","bucket","creationDate"} for buckets,
{"type":"object","url","key","size","lastModified","etag"} and {"type":"prefix","url","prefix"}.`,
  );
  command.action((target: OssUrl | undefined, flags: LsFlags) =>
    runAction(io, async () => {
      const client = connect(flags, io);
      if (target === undefined) {
        for (const bucket of await client.listBuckets()) {
          if (flags.json === true) {
            printJson(io, {
              url: `oss://${bucket.name}`,
              bucket: bucket.name,
              creationDate: bucket.creationDate,
            });
            continue;
          }
          io.out(flags.long ? `${bucket.creationDate}  oss://${bucket.name}\n` : `oss://${bucket.name}\n`);
        }
        return;
      }
      const options = {
        prefix: target.key === '' ? undefined : target.key,
        delimiter: flags.recursive ? undefined : '/',
      };
      let count = 0;
      for await (const page of client.listAllObjects(target.bucket, options)) {
        for (const prefix of page.commonPrefixes) {
          if (flags.json === true) {
            printJson(io, { type: 'prefix', url: `oss://${target.bucket}/${prefix}`, prefix });
            continue;
          }
          io.out(
            flags.long
              ? `${'DIR'.padStart(10)}  ${''.padEnd(24)}  oss://${target.bucket}/${prefix}\n`
              : `oss://${target.bucket}/${prefix}\n`,
          );
        }
        for (const object of page.objects) {
          count++;
          const url = `oss://${target.bucket}/${object.key}`;
          if (flags.json === true) {
            printJson(io, { type: 'object', url, ...object });
            continue;
          }
          io.out(
            flags.long
              ? `${formatByteSize(object.size).padStart(10)}  ${object.lastModified.padEnd(24)}  ${url}  ${object.etag}\n`
              : `${url}\n`,
          );
        }
      }
      if (flags.long) io.out(`${count} object(s)\n`);
    }),
  );
  return command;
}
