/**
 * Starts a worker thread on a module that sits beside the caller, from the compiled build or from
 * the TypeScript sources alike: compiled (`dist/`), the entry is plain JavaScript; from the sources
 * (tests, tsx), the worker registers tsx's loader before it imports the `.ts` entry.
 *
 *   spawnWorker('./crc64-worker', import.meta.url)
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function spawnWorker(entry: string, callerUrl: string, options: WorkerOptions = {}): Worker {
  const fromSources = callerUrl.endsWith('.ts');
  const url = new URL(`${entry}${fromSources ? '.ts' : '.js'}`, callerUrl);
  if (!fromSources) return new Worker(url, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
