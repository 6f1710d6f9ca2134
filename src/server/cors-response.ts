/**
 * CORS headers on actual (non-preflight) requests: a request with an `Origin` gets the
 * Access-Control-* headers of the first rule of its bucket that allows its origin and method
 * (bucket-cors.ts), on success and error responses alike, so the page can read either. Without a
 * matching rule the response is left as it is, and the browser withholds it from the page.
 */
import type { DispatchConfig, IncomingRequest } from './pipeline/dispatch.ts';
import { corsHeaders, matchCorsRule } from './bucket-cors.ts';
import type { OssResponse } from './pipeline/request-context.ts';
import { resolveTarget } from './pipeline/resolve-target.ts';

export async function withBucketCors(
  request: IncomingRequest,
  response: OssResponse,
  config: DispatchConfig,
): Promise<OssResponse> {
  const origin = request.headers.origin;
  if (origin === undefined) return response;
  try {
    const { bucket } = resolveTarget(request.headers.host ?? '', request.rawPath, config.pathStyleHosts);
    if (bucket === undefined) return response;
    const cors = await config.deps.store.getBucketSetting(bucket, 'cors');
    const rule = matchCorsRule(cors, { origin, method: request.method, headers: [] });
    if (cors === undefined || rule === undefined) return response;
    return { ...response, headers: { ...response.headers, ...corsHeaders(rule, origin, cors.responseVary) } };
  } catch {
    // No bucket, or not a valid one: the response already says so, with no CORS to add.
    return response;
  }
}
