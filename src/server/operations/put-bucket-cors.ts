/**
 * PutBucketCors (`PUT /?cors` with a `CORSConfiguration` body): replaces the bucket's CORS rules
 * whole (bucket-cors.ts reads and checks the document).
 */
import { parseCorsConfiguration, MAX_CORS_BODY_BYTES } from '../bucket-cors.ts';
import { requireBucket } from '../request-arguments.ts';
import { readXmlBody } from '../read-xml-body.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const putBucketCors: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const cors = parseCorsConfiguration(await readXmlBody(ctx.body, MAX_CORS_BODY_BYTES));
  await deps.store.putBucketSetting(bucket, 'cors', cors);
  return { status: 200 };
};
