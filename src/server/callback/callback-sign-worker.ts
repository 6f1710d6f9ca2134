/**
 * Worker-thread entry of the callback signer (callback-signer.ts): RSA-signs callback requests with
 * the key it was started with (`workerData.key`), one message in, one message out, in order.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { signCallback } from 'upcall-verify';

/** Main thread → worker: the request-target and body to sign. */
export interface ToSignWorker {
  id: number;
  target: string;
  body: Uint8Array;
}

/** Worker → main thread. */
export type FromSignWorker =
  | { op: 'ready' }
  | { op: 'signed'; id: number; authorization: string }
  | { op: 'failed'; id: number; message: string };

const port = parentPort;
if (port) {
  const key = (workerData as { key: KeyObject }).key;
  port.on('message', ({ id, target, body }: ToSignWorker) => {
    let reply: FromSignWorker;
    try {
      reply = { op: 'signed', id, authorization: signCallback(target, body, key) };
    } catch (error) {
      reply = { op: 'failed', id, message: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ op: 'ready' } satisfies FromSignWorker);
}
