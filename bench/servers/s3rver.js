// s3rver 3.7 as the peer object store, one bucket per run. It checks AWS V2 signatures for the
// S3RVER/S3RVER key pair. It writes objects without fsync, so its "durability setting" is
// page-cache only; RESULTS.md says so beside every s3rver ratio.
import S3rver from 's3rver';
import { announceReady, option } from './ready.js';

const dataDir = option(process.argv, 'data');
const bucket = option(process.argv, 'bucket') ?? 'bench-s3rver';
if (!dataDir) throw new Error('usage: s3rver.js --data DIR [--bucket B] [--host H]');
const server = new S3rver({
  port: 0,
  address: option(process.argv, 'host') ?? '127.0.0.1',
  silent: true,
  directory: dataDir,
  configureBuckets: [{ name: bucket }],
});
const address = await server.run();
announceReady(/** @type {import('node:net').AddressInfo} */ (address));
// Keep-alive sockets would hold close() open; nothing is pending once the harness stops.
process.on('SIGTERM', () => process.exit(0));
