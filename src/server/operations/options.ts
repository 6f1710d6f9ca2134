/**
 * Options (`OPTIONS /` or `OPTIONS /key`): the CORS preflight a browser sends before a cross-origin
 * request, answered from the bucket's CORS rules (bucket-cors.ts). No authentication: browsers
 * never sign preflights. 200 with the Access-Control-* headers of the first matching rule, else
 * 403 AccessForbidden and no CORS header, so the browser does not send the request.
 */
import { ossError } from '../../shared/oss-error.ts';
import { corsHeaders, matchCorsRule, requestedHeaders } from '../bucket-cors.ts';
import { requireBucket } from '../request-arguments.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const options: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const cors = await deps.store.getBucketSetting(bucket, 'cors');
  const origin = header(ctx.headers.origin);
  const method = header(ctx.headers['access-control-request-method']);
  if (cors === undefined) {
    throw ossError('AccessForbidden', { message: 'CORSResponse: CORS is not enabled for this bucket.' });
  }
  const asked = requestedHeaders(header(ctx.headers['access-control-request-headers']));
  const rule =
    origin === undefined || method === undefined
      ? undefined
      : matchCorsRule(cors, { origin, method, headers: asked });
  if (origin === undefined || rule === undefined) throw ossError('AccessForbidden');
  return {
    status: 200,
    headers: {
      ...corsHeaders(rule, origin, cors.responseVary),
      ...(asked.length === 0 ? {} : { 'Access-Control-Allow-Headers': asked.join(', ') }),
      'Content-Length': 0,
    },
  };
};

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
