/**
 * Mounts the dashboard handler on the receiver app's Fastify instance (`createReceiver`'s
 * `routes` option): the dashboard's GET routes hand the raw request to the node:http handler.
 *
 *   createReceiver({ …, routes: (app) => mountDashboard(app, { storage, callbackUrl }) })
 *
 * Invariant: only the dashboard's own paths are claimed, so the callback route and the REST API
 * stay the receiver's.
 */
import type { FastifyInstance } from 'fastify';
import { createDashboardHandler, type DashboardOptions } from './dashboard-handler.ts';
import { mountFailedCallbacks } from './failed-callbacks.ts';

export const DASHBOARD_ROUTES: readonly string[] = [
  '/',
  '/favicon.ico',
  '/dashboard',
  '/dashboard/',
  '/dashboard/*',
  '/demo',
  '/vendor/aliyun-oss-sdk.min.js',
];

export function mountDashboard(
  app: FastifyInstance,
  options: DashboardOptions | (() => DashboardOptions),
): void {
  let handler: ReturnType<typeof createDashboardHandler> | undefined;
  // The storage server's failed callbacks (its callback log), when the storage is known.
  mountFailedCallbacks(app, () => (typeof options === 'function' ? options() : options).storage);
  for (const url of DASHBOARD_ROUTES) {
    app.get(url, (request, reply) => {
      // Options may name URLs only known once both servers listen, hence the lazy handler.
      handler ??= createDashboardHandler(typeof options === 'function' ? options() : options);
      reply.hijack();
      if (!handler(request.raw, reply.raw)) {
        reply.raw.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '10' });
        reply.raw.end('Not found\n');
      }
    });
  }
}
