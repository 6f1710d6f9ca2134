/**
 * PutBucketLifecycle (`PUT /?lifecycle` with a `LifecycleConfiguration` body): replaces the
 * bucket's lifecycle rules whole (lifecycle-configuration.ts reads and checks the document; the
 * server's lifecycle sweep carries them out).
 */
import {
  MAX_LIFECYCLE_BODY_BYTES,
  parseLifecycleConfiguration,
} from '../lifecycle/lifecycle-configuration.ts';
import { requireBucket } from '../request-arguments.ts';
import { readXmlBody } from '../read-xml-body.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const putBucketLifecycle: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const lifecycle = parseLifecycleConfiguration(await readXmlBody(ctx.body, MAX_LIFECYCLE_BODY_BYTES));
  await deps.store.putBucketSetting(bucket, 'lifecycle', lifecycle);
  return { status: 200 };
};
