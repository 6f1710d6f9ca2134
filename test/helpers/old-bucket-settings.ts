// Bucket settings as the release before schema version 3 stored them (one JSON column each), for
// the upgrade tests of both SQL backends: what they write into the old columns and read back.
export const OLD_CORS = {
  rules: [
    {
      allowedOrigins: ['https://*.example.com'],
      allowedMethods: ['PUT'],
      allowedHeaders: ['*'],
      exposeHeaders: ['ETag'],
      maxAgeSeconds: 60,
    },
  ],
  responseVary: true,
};

export const OLD_LIFECYCLE = {
  rules: [{ id: 'tmp', prefix: 'tmp/', status: 'Enabled' as const, tags: [], expiration: { days: 1 } }],
};
