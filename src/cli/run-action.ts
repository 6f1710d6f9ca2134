/**
 * The one place CLI failures are turned into messages and exit codes, so every command fails
 * the same way: one `error:` line, the OSS request id when there is one, and a hint for the
 * classic causes. A failure to reach or talk to the storage server names the endpoint tried and
 * where that endpoint (or the secret) came from (connection.ts), so the user knows which
 * setting to change: connection refused, an unknown host, https:// on a plain-HTTP port, a port
 * that answers but is not an OSS server (the receiver's), a wrong secret.
 */
import { InvalidArgumentError } from 'commander';
import { OssServiceError } from '../client/oss-service-error.ts';
import { EXIT_FAILURE, type CliIo } from './cli-io.ts';
import { connectionOrigin, UsageError, type ConnectionOrigin } from './connection.ts';

export async function runAction(io: CliIo, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    io.err(describeFailure(error, connectionOrigin(io)));
    io.setExitCode(EXIT_FAILURE);
  }
}

/** Error details not worth a user's screen: the server's signing dump and a doc link. */
const HIDDEN_DETAILS = new Set(['StringToSign', 'StringToSignBytes', 'CanonicalRequest', 'RecommendDoc']);

export function describeFailure(error: unknown, origin?: ConnectionOrigin): string {
  if (error instanceof OssServiceError) {
    if (error.code === 'UnknownError' && error.requestId === undefined && origin !== undefined) {
      return notAnOssServer(error, origin);
    }
    const lines = [`error: ${error.code} (HTTP ${error.status}): ${error.message}`];
    for (const [name, value] of Object.entries(error.details)) {
      if (!HIDDEN_DETAILS.has(name)) lines.push(`  ${name}: ${value}`);
    }
    if (error.requestId !== undefined) lines.push(`  RequestId: ${error.requestId}`);
    const hint = hintFor(error.code, origin);
    if (hint !== undefined) lines.push(`hint: ${hint}`);
    return `${lines.join('\n')}\n`;
  }
  if (error instanceof UsageError || error instanceof InvalidArgumentError)
    return `error: ${error.message}\n`;
  const code = (error as { code?: unknown } | null)?.code;
  const network = origin === undefined ? undefined : networkFailure(String(code), origin);
  if (network !== undefined) return network;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `error: cannot reach the storage server (${String(code)}). Is \`npm start\` (upcall dev) running?\n`;
  }
  if (code === 'ENOENT' && error instanceof Error) return `error: ${error.message}\n`;
  if (code === 'EADDRINUSE') {
    const port = (error as { port?: unknown }).port;
    return `error: port ${String(port)} is already in use (another upcall dev?); pick others with --port and --receiver-port, or 0 for any free port.\n`;
  }
  return `error: ${error instanceof Error ? error.message : String(error)}\n`;
}

const HINTS: Readonly<Record<string, string>> = {
  SignatureDoesNotMatch: 'the access key secret does not match the server; check UPCALL_ACCESS_KEY_SECRET.',
  InvalidAccessKeyId: 'the server does not know this access key id; check UPCALL_ACCESS_KEY_ID.',
  NoSuchBucket: 'create it with `upcall mb oss://<bucket>`, or use the bucket `upcall dev` printed.',
  NoSuchKey: 'list what is there with `upcall ls oss://<bucket>/<prefix>`.',
  BucketNotEmpty:
    'remove what is in it first, or use `upcall rb --force` to delete its objects and uploads too.',
  InvalidArgument: 'the server rejected a parameter; for callback problems see README "Troubleshooting".',
};

/** Whether the setting came from the dev session file, whose server may have been restarted. */
const fromSession = (from: string): boolean => from.includes('session file');

function hintFor(code: string, origin: ConnectionOrigin | undefined): string | undefined {
  if (origin === undefined) return HINTS[code];
  if (code === 'SignatureDoesNotMatch') {
    const from = origin.accessKeySecretFrom;
    return (
      `the access key secret (from ${from}) does not match what the server at ${origin.endpoint} expects. ` +
      (fromSession(from)
        ? 'Is that `upcall dev` still the one running? Restart it, or pass --access-key-secret.'
        : 'Use the secret the server printed at start (or its UPCALL_ACCESS_KEY_SECRET).')
    );
  }
  if (code === 'InvalidAccessKeyId') {
    return `the server at ${origin.endpoint} does not know this access key id (from ${origin.accessKeyIdFrom}); use the id it printed at start.`;
  }
  return HINTS[code];
}

/** The endpoint answered, but not in OSS's language: another HTTP app, most often the receiver. */
function notAnOssServer(error: OssServiceError, origin: ConnectionOrigin): string {
  const lines = [
    `error: ${origin.endpoint} (from ${origin.endpointFrom}) answered HTTP ${error.status}, but not as an OSS storage server (no x-oss-request-id, no OSS error document): ${error.message}`,
  ];
  const storage = origin.session?.endpoint;
  if (storage !== undefined && sameOrigin(storage, origin.endpoint) === false) {
    lines.push(
      `hint: is that the receiver (the app server)? The running \`upcall dev\` storage server is ${storage}; pass --endpoint ${storage}.`,
    );
  } else {
    lines.push(
      "hint: is that the receiver's port (the app server, `upcall receiver`, default 9100)? Point --endpoint at the storage server (`upcall server`, default http://127.0.0.1:9000).",
    );
  }
  return `${lines.join('\n')}\n`;
}

function networkFailure(code: string, origin: ConnectionOrigin): string | undefined {
  const at = `${origin.endpoint} (from ${origin.endpointFrom})`;
  const stale = fromSession(origin.endpointFrom)
    ? ' The `upcall dev` that wrote that session file seems to have stopped: start it again with `npm start`.'
    : ' Start one with `npm start` (upcall dev) or `upcall server`, or fix the port in the endpoint.';
  switch (code) {
    case 'ECONNREFUSED':
      return `error: cannot reach the storage server at ${at}: connection refused (ECONNREFUSED).\nhint: nothing is listening there.${stale}\n`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN': {
      const host = safeHost(origin.endpoint);
      return `error: cannot reach the storage server at ${at}: the host ${host} is unknown (${code}).\nhint: check the host name's spelling; for a local server use http://127.0.0.1:<port>.\n`;
    }
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `error: cannot reach the storage server at ${at}: the connection timed out.\nhint: check the host and port, and any firewall between.\n`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `error: the storage server at ${at} closed the connection (${code}).\nhint: if it serves https, use an https:// endpoint; otherwise see the server's log.\n`;
    default:
      if (code === 'EPROTO' || code.startsWith('ERR_SSL_')) {
        const plain = origin.endpoint.replace(/^https:/i, 'http:');
        return `error: TLS to ${at} failed (${code}): the port does not speak TLS.\nhint: upcall serves plain HTTP; use ${plain}\n`;
      }
      return undefined;
  }
}

function safeHost(endpoint: string): string {
  try {
    return new URL(endpoint).hostname;
  } catch {
    return endpoint;
  }
}

function sameOrigin(a: string, b: string): boolean | undefined {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return undefined;
  }
}
