/**
 * `upcall get oss://bucket/key [FILE]`: downloads an object (GetObject) to FILE, to the key's
 * base name in the current directory when FILE is omitted, or to stdout when FILE is `-`.
 * Draws a progress bar on a terminal, as `put` does.
 *
 * Invariants: an existing local file is never overwritten without `--force`; the download goes to
 * a temporary file beside the target and is renamed over it only once complete, so a failed
 * download (or one stopped with Ctrl-C, exit 130) leaves neither a partial file nor a damaged
 * original behind.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { formatByteSize } from '../byte-size.ts';
import { EXIT_INTERRUPTED, processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { addJsonOption, printJson, type JsonFlag } from '../json-output.ts';
import { refuseToOverwrite } from '../local-file.ts';
import { formatOssUrl, parseOssUrl, type OssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';
import { startTransferProgress, TERMINAL_RESTORE, type TransferProgress } from '../transfer-progress.ts';

interface GetFlags extends ConnectionFlags, JsonFlag {
  force?: boolean;
  progress: boolean;
}

export function getCommand(io: CliIo = processIo()): Command {
  const command = new Command('get')
    .description('download an object')
    .argument('<oss-url>', 'oss://bucket/key', parseOssUrl)
    .argument('[file]', "where to write it; - for stdout (default: the key's file name)")
    .option('-f, --force', 'overwrite FILE if it exists')
    .option('--no-progress', 'do not draw a progress bar');
  addJsonOption(command);
  addConnectionOptions(command);
  command.addHelpText(
    'after',
    `
--json prints one line: {"url","bucket","key","file","size","etag"} (not with - as FILE).`,
  );
  command.action((source: OssUrl, file: string | undefined, flags: GetFlags) =>
    runAction(io, async () => {
      if (source.key === '' || source.key.endsWith('/')) {
        throw new UsageError('give an object key, e.g. oss://bucket/photos/cat.jpg');
      }
      if (file === '-' && flags.json === true) {
        throw new UsageError('--json cannot share stdout with the object; give a FILE to write to');
      }
      const target = file ?? basename(source.key);
      const path = file === '-' ? '-' : resolve(io.cwd, target);
      if (path !== '-' && flags.force !== true) await refuseToOverwrite(target, path);
      const client = connect(flags, io);
      const object = await client.getObject(source.bucket, source.key);
      const size = object.contentLength ?? 0;
      const progress: TransferProgress | undefined =
        flags.progress && io.isTTY && object.contentLength !== undefined
          ? startTransferProgress(io.stderr, size)
          : undefined;
      const counter = countBytes(progress);
      if (path === '-') {
        try {
          await pipeline(object.body, counter, io.stdout, { end: false });
        } finally {
          progress?.stop();
        }
        return;
      }
      const partial = join(dirname(path), `.${basename(path)}.upcall-${randomBytes(4).toString('hex')}`);
      // Ctrl-C mid-download: stop, remove the partial file, give the terminal back, exit 130.
      const interrupt = new AbortController();
      const stopListening = io.onInterrupt(() => {
        stopListening(); // a second Ctrl-C kills at once
        progress?.stop();
        if (progress !== undefined) io.err(TERMINAL_RESTORE);
        interrupt.abort();
      });
      try {
        await pipeline(object.body, counter, createWriteStream(partial, { flags: 'wx' }), {
          signal: interrupt.signal,
        });
        await rename(partial, path);
      } catch (error) {
        await rm(partial, { force: true });
        if (!interrupt.signal.aborted) throw error;
        io.err(`\ninterrupted: ${target} was not written (the partial download is removed).\n`);
        io.setExitCode(EXIT_INTERRUPTED);
        return;
      } finally {
        stopListening();
        progress?.stop();
      }
      const url = formatOssUrl(source.bucket, source.key);
      if (flags.json === true) {
        printJson(io, {
          url,
          bucket: source.bucket,
          key: source.key,
          file: path,
          size,
          etag: object.headers['etag'],
        });
      } else {
        io.out(`downloaded ${url} -> ${path} (${formatByteSize(size)})\n`);
      }
    }),
  );
  return command;
}

/** A pass-through that moves the bar (when there is one) as bytes arrive. */
function countBytes(progress: TransferProgress | undefined): Transform {
  let loaded = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      loaded += chunk.byteLength;
      progress?.update(loaded);
      done(null, chunk);
    },
  });
}
