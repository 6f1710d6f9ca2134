/**
 * `upcall presign oss://bucket/key`: prints a V1 presigned URL (SPEC.md §8.3). For `--method PUT`
 * the callback flags are signed into the URL as `callback`/`callback-var` query parameters, the
 * way ali-oss signatureUrl does it (§8.1), so `curl -T file "<url>"` uploads with a callback.
 */
import { Command, InvalidArgumentError } from 'commander';
import { addCallbackOptions, callbackFromFlags, type CallbackFlags } from '../callback-options.ts';
import { processIo, type CliIo } from '../cli-io.ts';
import { addConnectionOptions, connect, UsageError, type ConnectionFlags } from '../connection.ts';
import { parseOssUrl, type OssUrl } from '../oss-url.ts';
import { runAction } from '../run-action.ts';

interface PresignFlags extends ConnectionFlags, CallbackFlags {
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE';
  expires: number;
  contentType?: string;
}

function parseMethod(value: string): PresignFlags['method'] {
  const method = value.toUpperCase();
  if (method === 'GET' || method === 'PUT' || method === 'HEAD' || method === 'DELETE') return method;
  throw new InvalidArgumentError('expected GET, PUT, HEAD or DELETE');
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds <= 0)
    throw new InvalidArgumentError('expected a positive number of seconds');
  return seconds;
}

export function presignCommand(io: CliIo = processIo()): Command {
  const command = new Command('presign')
    .description('print a presigned URL for an object')
    .argument('<oss-url>', 'oss://bucket/key', parseOssUrl)
    .option('--method <method>', 'GET, PUT, HEAD or DELETE', parseMethod, 'GET')
    .option('--expires <seconds>', 'how long the URL stays valid', parseSeconds, 3600)
    .option('--content-type <type>', 'for PUT: the Content-Type the uploader will send (it is signed)');
  addCallbackOptions(command);
  addConnectionOptions(command);
  command.addHelpText(
    'after',
    `
Example (upload with curl, callback included):
  url=$(upcall presign oss://uploads/a.txt --method PUT --content-type text/plain \\
        --callback-url http://127.0.0.1:9100/callback)
  curl -T a.txt -H 'Content-Type: text/plain' "$url"`,
  );
  command.action((target: OssUrl, flags: PresignFlags) =>
    runAction(io, async () => {
      if (target.key === '') throw new UsageError('give an object key, e.g. oss://bucket/a.txt');
      const callback = callbackFromFlags(flags);
      if (callback !== undefined && flags.method !== 'PUT') {
        throw new UsageError('a callback needs --method PUT (callbacks apply to uploads only)');
      }
      const client = connect(flags, io);
      io.out(
        `${client.presignUrl(target.bucket, target.key, {
          method: flags.method,
          expiresInSeconds: flags.expires,
          contentType: flags.contentType,
          callback,
        })}\n`,
      );
    }),
  );
  return command;
}
