/**
 * The one place CLI failures are turned into messages and exit codes, so every command fails
 * the same way: one `error:` line, the OSS request id when there is one, and a hint for the
 * classic causes (server not running, wrong secret, missing bucket).
 */
import { InvalidArgumentError } from 'commander';
import { OssServiceError } from '../client/oss-service-error.ts';
import { EXIT_FAILURE, type CliIo } from './cli-io.ts';
import { UsageError } from './connection.ts';

export async function runAction(io: CliIo, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    io.err(describeFailure(error));
    io.setExitCode(EXIT_FAILURE);
  }
}

export function describeFailure(error: unknown): string {
  if (error instanceof OssServiceError) {
    const lines = [`error: ${error.code} (HTTP ${error.status}): ${error.message}`];
    for (const [name, value] of Object.entries(error.details)) {
      if (name !== 'StringToSign' && name !== 'RecommendDoc') lines.push(`  ${name}: ${value}`);
    }
    if (error.requestId !== undefined) lines.push(`  RequestId: ${error.requestId}`);
    const hint = HINTS[error.code];
    if (hint !== undefined) lines.push(`hint: ${hint}`);
    return `${lines.join('\n')}\n`;
  }
  if (error instanceof UsageError || error instanceof InvalidArgumentError)
    return `error: ${error.message}\n`;
  const code = (error as { code?: unknown } | null)?.code;
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
  NoSuchBucket: 'create the bucket first, or use the bucket `upcall dev` printed.',
  InvalidArgument: 'the server rejected a parameter; for callback problems see README "Troubleshooting".',
};
