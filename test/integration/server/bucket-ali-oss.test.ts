/**
 * Bucket operations through the official ali-oss SDK against a real server: putBucket (with ACL),
 * listBuckets (prefix, marker, max-keys), getBucketInfo, getBucketLocation, putBucketACL /
 * getBucketACL, deleteBucket (BucketNotEmpty while objects remain, NoSuchBucket after).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient, serviceClient } from '../../helpers/ali-oss-client.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

interface ListedBucket {
  name: string;
  region: string;
  creationDate: string;
  storageClass: string;
}

describe('bucket lifecycle through ali-oss', () => {
  it('creates a bucket, reports it everywhere, and deletes it once empty', async () => {
    const client = ossClient(server, { bucket: 'photos-2026' });
    const created = await client.putBucket('photos-2026', { acl: 'public-read' });
    expect(created.bucket).toBe('photos-2026');
    expect(created.res.status).toBe(200);

    const acl = await client.getBucketACL('photos-2026');
    expect(acl.acl).toBe('public-read');
    expect(acl.owner.id).toBe(server.accessKeyId);

    const info = await client.getBucketInfo('photos-2026');
    expect(info.bucket.Name).toBe('photos-2026');
    expect(info.bucket.Location).toBe(server.region);
    expect(info.bucket.StorageClass).toBe('Standard');
    expect(info.bucket.AccessControlList.Grant).toBe('public-read');
    expect(info.bucket.Owner.ID).toBe(server.accessKeyId);
    expect(info.bucket.CreationDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);

    const location = await client.getBucketLocation('photos-2026');
    expect(location.location).toBe(server.region);

    await client.putBucketACL('photos-2026', 'private');
    expect((await client.getBucketACL('photos-2026')).acl).toBe('private');

    await client.put('kept.txt', Buffer.from('x'));
    await expect(client.deleteBucket('photos-2026')).rejects.toMatchObject({
      status: 409,
      code: 'BucketNotEmpty',
    });
    await client.delete('kept.txt');
    const deleted = await client.deleteBucket('photos-2026');
    expect(deleted.res.status).toBe(204);
    await expect(client.getBucketInfo('photos-2026')).rejects.toMatchObject({
      status: 404,
      code: 'NoSuchBucket',
    });
    await expect(client.deleteBucket('photos-2026')).rejects.toMatchObject({
      status: 404,
      code: 'NoSuchBucket',
    });
  });

  it('creates a missing bucket on PutBucketAcl, with that ACL (OSS PutBucketAcl reference)', async () => {
    const client = ossClient(server, { bucket: 'made-by-acl' });
    const put = await client.putBucketACL('made-by-acl', 'public-read');
    expect(put.res.status).toBe(200);
    expect((await client.getBucketACL('made-by-acl')).acl).toBe('public-read');
    const listed = (await serviceClient(server).listBuckets({ prefix: 'made-by-acl' })) as {
      buckets: ListedBucket[];
    };
    expect(listed.buckets.map((b) => b.name)).toEqual(['made-by-acl']);
    await client.deleteBucket('made-by-acl');
  });

  it('answers 200 to re-creating an existing bucket and applies an explicit ACL', async () => {
    const client = ossClient(server, { bucket: 'again-bucket' });
    // ali-oss sends a CreateBucketConfiguration body when a storage class is given.
    await client.putBucket('again-bucket', { storageClass: 'Standard', dataRedundancyType: 'LRS' });
    await client.put('stays.txt', Buffer.from('still here'));
    const again = await client.putBucket('again-bucket', { acl: 'public-read-write' });
    expect(again.res.status).toBe(200);
    expect((await client.getBucketACL('again-bucket')).acl).toBe('public-read-write');
    expect((await client.get('stays.txt')).content.toString()).toBe('still here');
    await client.delete('stays.txt');
    await client.deleteBucket('again-bucket');
  });

  it('lists buckets with prefix, marker and max-keys', async () => {
    const names = ['list-a1', 'list-a2', 'list-a3', 'list-b1'];
    for (const name of names) await ossClient(server, { bucket: name }).putBucket(name);
    try {
      const service = serviceClient(server);
      const all = await service.listBuckets();
      expect((all.buckets as ListedBucket[]).map((b) => b.name)).toEqual([...names, server.bucket].sort());
      expect(all.owner.id).toBe(server.accessKeyId);
      const bucket = (all.buckets as ListedBucket[])[0]!;
      expect(bucket.region).toBe(server.region);
      expect(bucket.storageClass).toBe('Standard');
      expect(all.isTruncated).toBe(false);

      const first = await service.listBuckets({ prefix: 'list-a', 'max-keys': 2 });
      expect((first.buckets as ListedBucket[]).map((b) => b.name)).toEqual(['list-a1', 'list-a2']);
      expect(first.isTruncated).toBe(true);
      expect(first.nextMarker).toBe('list-a2');
      const second = await service.listBuckets({ prefix: 'list-a', 'max-keys': 2, marker: first.nextMarker });
      expect((second.buckets as ListedBucket[]).map((b) => b.name)).toEqual(['list-a3']);
      expect(second.isTruncated).toBe(false);
      const none = await service.listBuckets({ prefix: 'nothing-' });
      expect(none.buckets).toBeNull();
    } finally {
      for (const name of names) await ossClient(server, { bucket: name }).deleteBucket(name);
    }
  });

  it('refuses bucket operations to anonymous callers but lets them list a public-read bucket', async () => {
    const owner = ossClient(server, { bucket: 'open-bucket' });
    await owner.putBucket('open-bucket', { acl: 'public-read' });
    await owner.put('hello.txt', Buffer.from('hi'));
    try {
      const listing = await fetch(`${server.url}/open-bucket/?prefix=hello`);
      expect(listing.status).toBe(200);
      expect(await listing.text()).toContain('<Key>hello.txt</Key>');
      const acl = await fetch(`${server.url}/open-bucket/?acl`);
      expect(acl.status).toBe(403);
      const service = await fetch(`${server.url}/`);
      expect(service.status).toBe(403);
      const del = await fetch(`${server.url}/open-bucket/`, { method: 'DELETE' });
      expect(del.status).toBe(403);
    } finally {
      await owner.delete('hello.txt');
      await owner.deleteBucket('open-bucket');
    }
  });
});
