/**
 * What a server needs to run upload callbacks, as ServerDeps carries it. In a file of its own so
 * the request context can name it without importing the upload-callback step (which imports the
 * error writer, which imports the request context).
 */
import type { CallbackParser } from '../../callback/parse-callback.ts';
import type { CallbackAddressGuard } from './callback-address-guard.ts';
import type { CallbackDispatcher } from './callback-dispatcher.ts';

/** What a server needs to run callbacks; absent in ServerDeps means callbacks are switched off. */
export interface CallbackRuntime {
  readonly dispatcher: CallbackDispatcher;
  /** Parses the uploads' callback parameters, keeping the specs of recent values. */
  readonly parser: CallbackParser;
  /** Real OSS's private-address refusal (§2.3, 0007-00000008); off by default (DESIGN.md). */
  readonly forbidPrivateAddresses: boolean;
  /** The refusal's resolver and address check (default: on the system resolver). */
  readonly addressGuard?: CallbackAddressGuard | undefined;
}
