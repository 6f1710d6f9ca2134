/**
 * The CORS rule `upcall dev` puts on its bucket at start (PutBucketCors through the store, the same
 * rules `upcall server` answers from), so browser pages (the receiver's demo, a web app on
 * localhost) can upload to it: every origin, method and request header, and the response headers
 * SDKs read (ETag, x-oss-request-id, …) exposed. One developer's machine needs no narrower rule;
 * other buckets keep whatever rules they have.
 */
import type { BucketCors } from '../server/index.ts';

export const DEV_BUCKET_CORS: BucketCors = {
  rules: [
    {
      allowedOrigins: ['*'],
      allowedMethods: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'],
      allowedHeaders: ['*'],
      exposeHeaders: [
        'ETag',
        'x-oss-request-id',
        'x-oss-hash-crc64ecma',
        'Content-MD5',
        'x-oss-version-id',
        'x-oss-object-type',
        'x-oss-next-append-position',
        'Content-Length',
        'Content-Type',
        'Last-Modified',
      ],
      maxAgeSeconds: 600,
    },
  ],
  responseVary: true,
};
