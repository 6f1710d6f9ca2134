/**
 * Where CLI commands write and how they end. Commands never touch `process.stdout` or
 * `process.exitCode` directly, so tests can run them in-process through commander and read what
 * they printed and the exit code they chose.
 */
import type { Writable } from 'node:stream';

export interface CliIo {
  /** Standard output: results a script may parse. */
  out: (text: string) => void;
  /** Standard error: progress, hints and failures. */
  err: (text: string) => void;
  /** Raw stdout, for binary data (`upcall get … -`). */
  stdout: Writable;
  /** Raw stderr, where a progress bar draws. */
  stderr: Writable;
  /** Whether stderr is a terminal (progress bars only then). */
  isTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Records the exit status; the process ends with it once the command returns. */
  setExitCode: (code: number) => void;
  /**
   * Calls `handler` on Ctrl-C (SIGINT) instead of dying at once, until the returned function is
   * called; then Ctrl-C kills the process again (a second Ctrl-C while cleaning up still works).
   */
  onInterrupt: (handler: () => void) => () => void;
}

let stdoutGuarded = false;

export function processIo(): CliIo {
  if (!stdoutGuarded) {
    stdoutGuarded = true;
    // `upcall ls | head`: a reader that goes away is not an error worth a stack trace.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: process.stderr.isTTY,
    env: process.env,
    cwd: process.cwd(),
    setExitCode: (code) => {
      process.exitCode = code;
    },
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}

/**
 * Exit codes: 0 ok; 1 request failed; 2 upload stored but its callback failed (HTTP 203);
 * 130 interrupted by Ctrl-C (128 + SIGINT, what a shell reports for a process killed by it).
 */
export const EXIT_FAILURE = 1;
export const EXIT_CALLBACK_FAILED = 2;
export const EXIT_INTERRUPTED = 130;
