/**
 * `upcall put FILE oss://bucket/key`: uploads a file, with an upload callback when asked
 * (SPEC.md §2, §7.1, §7.3). Files at or above `--multipart-threshold` go up as a multipart upload
 * with parallel parts and a progress bar; the callback then rides on CompleteMultipartUpload.
 *
 * Prints the app server's reply on success; on 203 says plainly that the object IS stored but the
 * callback failed, with the OSS message and a hint, and exits 2 (1 for any other failure).
 */
import { basename, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import type { ProgressListener, UploadResult } from '../../client/oss-client.ts';
import { formatByteSize, parseByteSize } from '../byte-size.ts';
import { callbackFailureHint } from '../callback-failure-hint.ts';
import { addCallbackOptions, callbackFromFlags, type CallbackFlags } from '../callback-options.ts';
import { EXIT_CALLBACK_FAILED, processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { formatOssUrl, parseOssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

interface PutFlags extends ConnectionFlags, CallbackFlags {
  contentType?: string;
  multipartThreshold: number;
  partSize: number;
  parallel: number;
  progress: boolean;
}

const DEFAULT_THRESHOLD = '64MB';
const DEFAULT_PART_SIZE = '8MB';

export function putCommand(io: CliIo = processIo()): Command {
  const command = new Command('put')
    .description('upload a file, optionally asking the storage server for an upload callback')
    .argument('<file>', 'local file to upload')
    .argument('<oss-url>', 'oss://bucket/key (a key ending in / gets the file name appended)', parseOssUrl)
    .option('--content-type <type>', 'Content-Type of the object (default: from the file extension)')
    .addOption(
      new Option('--multipart-threshold <size>', 'use multipart upload from this size on')
        .argParser(parseByteSize)
        .default(parseByteSize(DEFAULT_THRESHOLD), DEFAULT_THRESHOLD),
    )
    .addOption(
      new Option('--part-size <size>', 'multipart part size (at least 100KB)')
        .argParser(parseByteSize)
        .default(parseByteSize(DEFAULT_PART_SIZE), DEFAULT_PART_SIZE),
    )
    .option('--parallel <n>', 'parts uploaded at once', (v) => Math.max(1, Number.parseInt(v, 10) || 1), 4)
    .option('--no-progress', 'do not draw a progress bar');
  addCallbackOptions(command);
  addConnectionOptions(command);
  command.addHelpText(
    'after',
    `
Examples:
  upcall put photo.jpg oss://uploads/photos/ --callback-url http://127.0.0.1:9100/callback --var device=iphone
  upcall put big.iso oss://uploads/big.iso --part-size 16MB --parallel 8
  upcall put data.json oss://uploads/d.json --callback-url http://app/cb --callback-body-type json \\
      --callback-body '{"object":\${object},"size":\${size},"user":\${x:user}}' --var user=42

Exit status: 0 uploaded (and callback succeeded), 2 uploaded but the callback failed (HTTP 203),
1 upload failed.`,
  );
  command.action((file: string, target: { bucket: string; key: string }, flags: PutFlags) =>
    runAction(io, async () => {
      const client = connect(flags, io);
      const path = resolve(io.cwd, file);
      const callback = callbackFromFlags(flags);
      const key =
        target.key === '' || target.key.endsWith('/') ? `${target.key}${basename(file)}` : target.key;
      const info = await stat(path);
      if (!info.isFile())
        throw new UsageError(`${file} is not a file (upload a directory's files one by one)`);
      const size = info.size;
      const multipart = size >= flags.multipartThreshold;
      const bar =
        flags.progress && io.isTTY
          ? new SingleBar({
              stream: process.stderr,
              hideCursor: true,
              format: ' {bar} {percentage}% | {loaded} / {size} | ETA {eta_formatted}',
            })
          : undefined;
      let onProgress: ProgressListener | undefined;
      if (bar) {
        bar.start(size, 0, { loaded: formatByteSize(0), size: formatByteSize(size) });
        onProgress = (loaded) => bar.update(loaded, { loaded: formatByteSize(loaded) });
      }
      let result: UploadResult;
      try {
        const options = { contentType: flags.contentType, callback, onProgress };
        result = multipart
          ? await client.multipartUpload(target.bucket, key, path, {
              ...options,
              partSize: flags.partSize,
              parallel: flags.parallel,
            })
          : await client.putObject(target.bucket, key, path, options);
      } finally {
        bar?.stop();
      }
      const how = multipart
        ? `, multipart in ${Math.max(1, Math.ceil(size / Math.max(flags.partSize, 100 * 1024)))} parts`
        : '';
      io.out(
        `uploaded ${file} -> ${formatOssUrl(target.bucket, key)} (${formatByteSize(size)}${how}, ETag ${result.etag ?? '?'})\n`,
      );
      reportCallback(io, result);
    }),
  );
  return command;
}

function reportCallback(io: CliIo, result: UploadResult): void {
  const outcome = result.callback;
  if (outcome === undefined) return;
  if (outcome.ok) {
    io.out(`callback: OK, the app server replied:\n`);
    io.out(`${outcome.json === undefined ? outcome.body : JSON.stringify(outcome.json, null, 2)}\n`);
    return;
  }
  const { error } = outcome;
  const lines = [
    `callback FAILED: HTTP 203 ${error.code}: ${error.message}`,
    '  the object IS stored; only the callback to the app server failed.',
  ];
  if (error.ec !== undefined) lines.push(`  EC: ${error.ec}`);
  if (error.requestId !== undefined) lines.push(`  RequestId: ${error.requestId}`);
  lines.push(`hint: ${callbackFailureHint(error.message)}`);
  io.err(`${lines.join('\n')}\n`);
  io.setExitCode(EXIT_CALLBACK_FAILED);
}
