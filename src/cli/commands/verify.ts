/**
 * `upcall verify`: checks a captured callback request exactly the way the receiver does, with
 * the same `verifyOssCallback` (SPEC.md §1): signature over the raw target and body bytes, key
 * fetched only from an allowlisted key URL (or a pinned PEM). Prints the verified upload facts,
 * or which check failed and what usually causes it. Exit 0 valid, 1 invalid or unreadable.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import {
  isCallbackVerificationError,
  type CallbackVerificationReason,
  DEFAULT_KEY_URL_ALLOWLIST,
  createPublicKeyResolver,
  verifyOssCallback,
} from 'upcall-verify';
import { parseHeaderBlock, parseRawRequest, type CapturedRequest } from '../captured-request.ts';
import { EXIT_FAILURE, processIo, type CliIo } from '../cli-io.ts';
import { readDevSession, UsageError } from '../connection.ts';
import { runAction } from '../run-action.ts';

interface VerifyFlags {
  headers?: string;
  body?: string;
  target?: string;
  publicKey?: string;
  allowKeyUrl?: string[];
  data?: string;
}

const WHY: Readonly<Record<CallbackVerificationReason, string>> = {
  'method-not-allowed': 'OSS callbacks are always POST.',
  'body-too-large': 'the body is larger than the receiver accepts (1 MiB).',
  'body-unavailable': 'a body parser consumed the body before the verifier saw it.',
  'missing-signature':
    'no Authorization header: a proxy or load balancer in front of the app often strips it.',
  'bad-key-url': 'x-oss-pub-key-url must be base64 of an http(s) URL.',
  'key-host-not-allowed':
    "the key URL is not allowlisted; add the storage server's key URL with --allow-key-url (the receiver needs the same).",
  'key-fetch-failed': 'the key URL could not be fetched; is the storage server that signed this running?',
  'bad-public-key': 'the key URL did not serve an RSA public key PEM.',
  'signature-mismatch':
    'the signature does not cover these bytes: check the exact path + query (a proxy may rewrite it) and that the body was saved byte for byte.',
};

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function verifyCommand(io: CliIo = processIo()): Command {
  const command = new Command('verify')
    .description('check a captured callback request the way the receiver would')
    .argument('[request-file]', 'a raw HTTP request: request line, headers, blank line, body')
    .option('--headers <file>', 'header lines (optionally starting with "POST /path HTTP/1.1"), with --body')
    .option('--body <file>', 'the exact body bytes')
    .option('--target <path>', 'the request path and query the app server received, e.g. /callback?x=1')
    .option('--public-key <pem-file>', 'verify with this public key instead of fetching the key URL')
    .option(
      '--allow-key-url <url>',
      'also trust this exact key URL (repeatable; a bare origin means its /callback_pub_key_v1.pem)',
      collect,
    )
    .option('--data <dir>', 'also trust the key URL of the `upcall dev` session in this data dir');
  command.addHelpText(
    'after',
    `
Examples:
  upcall verify captured.http
  upcall verify --headers headers.txt --body body.bin --target '/callback'
  upcall verify captured.http --public-key callback_pub_key_v1.pem

By default only the official key host (gosspublic.alicdn.com) and the key URL of a running
\`upcall dev\` are trusted, like the receiver's allowlist.`,
  );
  command.action((requestFile: string | undefined, flags: VerifyFlags) =>
    runAction(io, async () => {
      const captured = await readCapture(io, requestFile, flags);
      const target = flags.target ?? captured.target;
      if (target === undefined)
        throw new UsageError('no request line in the capture; pass --target /path?query');
      const resolver =
        flags.publicKey !== undefined
          ? createPublicKeyResolver({ publicKey: await readFile(resolve(io.cwd, flags.publicKey)) })
          : createPublicKeyResolver({ keyUrlAllowlist: allowlist(io, flags) });
      try {
        const verified = await verifyOssCallback(
          { method: captured.method ?? 'POST', target, headers: captured.headers, body: captured.body },
          { resolver },
        );
        io.out(`valid: the signature matches (key ${verified.keyUrl ?? 'pinned'})\n`);
        const facts: [string, unknown][] = [
          ['target', target],
          ['bucket', verified.bucket],
          ['object', verified.object],
          ['size', verified.size],
          ['mimeType', verified.mimeType],
          ['etag', verified.etag],
          ['imageInfo', verified.imageInfo],
          ['vars', Object.keys(verified.vars).length > 0 ? verified.vars : undefined],
          ['request id', verified.oss.requestId],
          ['body format', verified.format],
        ];
        for (const [name, value] of facts) {
          if (value !== undefined)
            io.out(
              `  ${`${name}:`.padEnd(13)}${typeof value === 'string' ? value : JSON.stringify(value)}\n`,
            );
        }
      } catch (error) {
        if (!isCallbackVerificationError(error)) throw error;
        io.err(`INVALID (${error.reason}): ${error.message}\nhint: ${WHY[error.reason]}\n`);
        io.setExitCode(EXIT_FAILURE);
      }
    }),
  );
  return command;
}

async function readCapture(
  io: CliIo,
  requestFile: string | undefined,
  flags: VerifyFlags,
): Promise<CapturedRequest> {
  if (requestFile !== undefined) {
    if (flags.headers !== undefined)
      throw new UsageError('give either a request file or --headers/--body, not both');
    const captured = parseRawRequest(await readFile(resolve(io.cwd, requestFile)));
    if (flags.body !== undefined) captured.body = await readFile(resolve(io.cwd, flags.body));
    return captured;
  }
  if (flags.headers === undefined)
    throw new UsageError('give a captured request file, or --headers FILE and --body FILE');
  const head = parseHeaderBlock(await readFile(resolve(io.cwd, flags.headers), 'latin1'));
  const body = flags.body === undefined ? Buffer.alloc(0) : await readFile(resolve(io.cwd, flags.body));
  return { ...head, body };
}

function allowlist(io: CliIo, flags: VerifyFlags): string[] {
  const prefixes = [...DEFAULT_KEY_URL_ALLOWLIST, ...(flags.allowKeyUrl ?? [])];
  const session = readDevSession(io, flags.data);
  if (session !== undefined) prefixes.push(session.keyUrl);
  return prefixes;
}
