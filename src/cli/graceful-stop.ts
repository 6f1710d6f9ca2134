/**
 * How the long-running commands (server, receiver, dev) stop. The first SIGINT or SIGTERM runs the
 * command's `stop` (stop accepting, let in-flight requests finish, close stores and databases); a
 * second signal while stopping exits at once (130, what a shell reports for Ctrl-C), and a stop
 * still running after FORCE_EXIT_MS exits 1, so a stuck keep-alive client can never hold the
 * process up. Commands install this before printing their banner: a script may send SIGTERM the
 * moment it reads it.
 */

/** Where the signals come from: `process`, or something a test controls. */
export interface StopSignals {
  on(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
  off?(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
}

export const FORCE_EXIT_MS = 10_000;

/**
 * Calls `stop` on the first signal; `stop` reports its own outcome and must not reject. Returns a
 * function that removes the handlers (for a command whose action ends once stopped).
 */
export function stopOnSignals(
  signals: StopSignals,
  stop: (signal: NodeJS.Signals) => Promise<void>,
): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    const force = setTimeout(() => process.exit(1), FORCE_EXIT_MS);
    force.unref();
    void stop(signal).finally(() => clearTimeout(force));
  };
  // Listening (not once): a second signal while stopping forces the exit.
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  return () => {
    signals.off?.('SIGINT', onSignal);
    signals.off?.('SIGTERM', onSignal);
  };
}
