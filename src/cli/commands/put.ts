/**
 * `upcall put FILE oss://bucket/key`: uploads a file, with an upload callback when asked
 * (SPEC.md §2, §7.1, §7.3). Files at or above `--multipart-threshold` go up as a multipart upload
 * with parallel parts and a progress bar; the callback then rides on CompleteMultipartUpload.
 *
 * Prints the app server's reply on success; on 203 says plainly that the object IS stored but the
 * callback failed, with the OSS message and a hint, and exits 2 (1 for any other failure).
 * Ctrl-C stops the upload: the parts in flight are cut off, the multipart upload is aborted on the
 * server (nothing is left behind to pay for), the terminal gets its cursor and line wrap back, and
 * the command says so and exits 130.
 */
import { basename, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { UploadInterruptedError, type UploadResult } from '../../client/oss-client.ts';
import { formatByteSize, parseByteSize } from '../byte-size.ts';
import { callbackFailureHint } from '../callback-failure-hint.ts';
import { addCallbackOptions, callbackFromFlags, type CallbackFlags } from '../callback-options.ts';
import { EXIT_CALLBACK_FAILED, EXIT_INTERRUPTED, processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, type ConnectionFlags } from '../connection.ts';
import { addJsonOption, printJson, type JsonFlag } from '../json-output.ts';
import { formatOssUrl, parseOssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';
import { startTransferProgress, TERMINAL_RESTORE, type TransferProgress } from '../transfer-progress.ts';
import { statLocalFile } from '../local-file.ts';

interface PutFlags extends ConnectionFlags, CallbackFlags, JsonFlag {
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
  addJsonOption(command);
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

Ctrl-C aborts the upload on the server (no parts are left behind) and exits 130.
--json prints one line: {"url","bucket","key","size","etag","multipart","parts","requestId","callback"}.

Exit status: 0 uploaded (and callback succeeded), 2 uploaded but the callback failed (HTTP 203),
1 upload failed, 130 interrupted.`,
  );
  command.action((file: string, target: { bucket: string; key: string }, flags: PutFlags) =>
    runAction(io, async () => {
      // Local mistakes first: they need no server to be reported.
      const path = resolve(io.cwd, file);
      const callback = callbackFromFlags(flags);
      const key =
        target.key === '' || target.key.endsWith('/') ? `${target.key}${basename(file)}` : target.key;
      const size = await statLocalFile(file, path);
      const client = connect(flags, io);
      const multipart = size >= flags.multipartThreshold;
      const drawn = flags.progress && io.isTTY && flags.json !== true;
      const progress: TransferProgress | undefined = drawn
        ? startTransferProgress(io.stderr, size)
        : undefined;
      const interrupt = new AbortController();
      const stopListening = io.onInterrupt(() => {
        stopListening(); // a second Ctrl-C kills at once
        progress?.stop();
        if (drawn) io.err(TERMINAL_RESTORE);
        io.err('\ninterrupted: stopping the upload...\n');
        interrupt.abort();
      });
      let result: UploadResult;
      try {
        const options = {
          contentType: flags.contentType,
          callback,
          onProgress: progress && ((loaded: number) => progress.update(loaded)),
          signal: interrupt.signal,
        };
        result = multipart
          ? await client.multipartUpload(target.bucket, key, path, {
              ...options,
              partSize: flags.partSize,
              parallel: flags.parallel,
            })
          : await client.putObject(target.bucket, key, path, options);
      } catch (error) {
        if (!interrupt.signal.aborted) throw error;
        reportInterrupted(io, formatOssUrl(target.bucket, key), error);
        return;
      } finally {
        stopListening();
        progress?.stop();
      }
      const parts = multipart
        ? Math.max(1, Math.ceil(size / Math.max(flags.partSize, 100 * 1024)))
        : undefined;
      if (flags.json === true) {
        printJson(io, {
          url: formatOssUrl(target.bucket, key),
          bucket: target.bucket,
          key,
          size,
          etag: result.etag,
          multipart,
          ...(parts === undefined ? {} : { parts }),
          requestId: result.requestId,
          ...(result.callback === undefined ? {} : { callback: callbackJson(result) }),
        });
      } else {
        const how = parts === undefined ? '' : `, multipart in ${parts} parts`;
        io.out(
          `uploaded ${file} -> ${formatOssUrl(target.bucket, key)} (${formatByteSize(size)}${how}, ETag ${result.etag ?? '?'})\n`,
        );
      }
      reportCallback(io, result, flags.json === true);
    }),
  );
  return command;
}

function reportInterrupted(io: CliIo, url: string, error: unknown): void {
  if (error instanceof UploadInterruptedError && error.abortError !== undefined) {
    io.err(
      `interrupted: ${url} was not uploaded, but aborting multipart upload ${error.uploadId} failed; ` +
        `remove its parts with \`upcall uploads ${url} --abort\`.\n`,
    );
  } else if (error instanceof UploadInterruptedError) {
    io.err(
      `interrupted: ${url} was not uploaded; multipart upload ${error.uploadId} was aborted on the server, no parts are left behind.\n`,
    );
  } else {
    io.err(`interrupted: ${url} was not uploaded (the request was cut off before it completed).\n`);
  }
  io.setExitCode(EXIT_INTERRUPTED);
}

function callbackJson(result: UploadResult): Record<string, unknown> | undefined {
  const outcome = result.callback;
  if (outcome === undefined) return undefined;
  if (outcome.ok) return { ok: true, reply: outcome.json ?? outcome.body };
  const { error } = outcome;
  return { ok: false, status: error.status, code: error.code, message: error.message, ec: error.ec };
}

function reportCallback(io: CliIo, result: UploadResult, json: boolean): void {
  const outcome = result.callback;
  if (outcome === undefined) return;
  if (json) {
    // The JSON line already carries the outcome; the exit status still tells a 203 apart.
    if (!outcome.ok) io.setExitCode(EXIT_CALLBACK_FAILED);
    return;
  }
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
