/**
 * The built-in hook behind `upcall receiver --forward-to URL` (issue 17): hooks without code. Each
 * verified upload's record is POSTed to the URL as JSON (the REST API's shape, `uploadToJson`),
 * with an `Idempotency-Key` header that is the same on every attempt and every instance, so the
 * target can drop a repeat: delivery is at least once. Anything but a 2xx answer (or no answer
 * within the job timeout) is a failure the hook queue retries with backoff.
 */
import { request } from 'undici';
import type { AsyncUploadHook } from './upload-hooks.ts';
import { uploadToJson } from './uploads-api.ts';

/** The hook name a forward target's jobs carry (one job per upload and target). */
export function forwardHookName(url: string): string {
  return `forward-to ${url}`;
}

export function forwardHooks(urls: readonly string[]): Record<string, AsyncUploadHook> {
  const hooks: Record<string, AsyncUploadHook> = {};
  for (const url of urls) {
    hooks[forwardHookName(url)] = async (record, { signal, idempotencyKey }) => {
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(uploadToJson(record)),
        signal,
      });
      // Read the answer whatever it is, so the connection goes back to the pool.
      const text = await response.body.text();
      if (response.statusCode < 200 || response.statusCode > 299) {
        throw new Error(`${url} answered ${response.statusCode}: ${text.slice(0, 200)}`);
      }
    };
  }
  return hooks;
}
