/**
 * `upcall uploads oss://bucket[/prefix]`: lists the incomplete multipart uploads under a prefix
 * (ListMultipartUploads), which hold storage until completed or aborted; `--abort` aborts them
 * (all under the prefix, or the one named by `--upload-id`), as `ossutil rm -m` / `mc rm
 * --incomplete` do.
 */
import { Command } from 'commander';
import { abortMultipartUploadsUnder } from '../../client/prefix-operations.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { addJsonOption, printJson, type JsonFlag } from '../json-output.ts';
import { formatOssUrl, parseOssUrl, type OssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

interface UploadsFlags extends ConnectionFlags, JsonFlag {
  abort?: boolean;
  uploadId?: string;
}

export function uploadsCommand(io: CliIo = processIo()): Command {
  const command = new Command('uploads')
    .description('list (or --abort) incomplete multipart uploads')
    .argument('<oss-url>', 'oss://bucket or oss://bucket/prefix', parseOssUrl)
    .option('--abort', 'abort them, so the server drops their parts')
    .option('--upload-id <id>', 'with --abort: only this upload (the oss-url is then its exact key)');
  addJsonOption(command);
  addConnectionOptions(command);
  command.addHelpText(
    'after',
    `
Examples:
  upcall uploads oss://uploads                       list every incomplete upload in the bucket
  upcall uploads oss://uploads/videos/ --abort       abort those under videos/

--json prints one line per upload: {"url","bucket","key","uploadId","initiated"}, plus
"aborted":true with --abort.`,
  );
  command.action((target: OssUrl, flags: UploadsFlags) =>
    runAction(io, async () => {
      if (flags.uploadId !== undefined && flags.abort !== true) {
        throw new UsageError('--upload-id needs --abort');
      }
      if (flags.uploadId !== undefined && target.key === '') {
        throw new UsageError("with --upload-id give the upload's key, e.g. oss://bucket/videos/big.mp4");
      }
      const client = connect(flags, io);
      const { bucket } = target;
      const report = (key: string, uploadId: string, initiated: string | undefined): void => {
        const url = formatOssUrl(bucket, key);
        if (flags.json === true) {
          printJson(io, {
            url,
            bucket,
            key,
            uploadId,
            initiated,
            ...(flags.abort === true && { aborted: true }),
          });
        } else if (flags.abort === true) {
          io.out(`aborted ${url} (upload ${uploadId})\n`);
        } else {
          io.out(`${initiated ?? ''}  ${url}  ${uploadId}\n`);
        }
      };
      if (flags.uploadId !== undefined) {
        await client.abortMultipartUpload(bucket, target.key, flags.uploadId);
        report(target.key, flags.uploadId, undefined);
        return;
      }
      let count = 0;
      if (flags.abort === true) {
        for await (const upload of abortMultipartUploadsUnder(client, bucket, target.key)) {
          report(upload.key, upload.uploadId, upload.initiated);
          count++;
        }
      } else {
        for await (const page of client.listAllMultipartUploads(bucket, {
          prefix: target.key === '' ? undefined : target.key,
        })) {
          for (const upload of page.uploads) report(upload.key, upload.uploadId, upload.initiated);
          count += page.uploads.length;
        }
      }
      if (flags.json !== true) {
        io.err(
          `${count} incomplete upload(s) ${flags.abort === true ? 'aborted' : 'found'} under ${formatOssUrl(bucket, target.key)}\n`,
        );
      }
    }),
  );
  return command;
}
