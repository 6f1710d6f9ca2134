/**
 * Who a request acts as, as authenticate() reports it (src/server/pipeline/authenticate.ts, owned by the
 * signing work). Kept here so operations and the access check compile against one shape.
 */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'root'; accessKeyId: string }
  | { kind: 'temporary'; accessKeyId: string; policy: unknown };

export const ANONYMOUS: Principal = { kind: 'anonymous' };
