/**
 * Object ACL and object tagging through the official ali-oss SDK (putACL / getACL,
 * putObjectTagging / getObjectTagging / deleteObjectTagging, upload headers) and raw anonymous
 * fetch, against a real server on both store backends: what each upload path sets, how CopyObject
 * carries them, and who may read an object once its own ACL differs from its bucket's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { okReply, startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

const PUBLIC_READ_BUCKET = 'upcall-public-read';
const OPEN_BUCKET = 'upcall-open';

describe.each(['fs', 'memory'] as const)('on the %s store', (backend) => {
  let server: TestServer;
  let client: AliOssClient;
  let sink: CallbackSink;

  beforeAll(async () => {
    server = await startTestServer({ backend, callback: { keyBits: 1024, timeoutMs: 2000 } });
    await server.store.createBucket(PUBLIC_READ_BUCKET, 'public-read');
    await server.store.createBucket(OPEN_BUCKET, 'public-read-write');
    client = ossClient(server);
    sink = await startCallbackSink();
    sink.reply = okReply;
  });
  afterAll(async () => {
    await sink.close();
    await server.close();
  });

  /** An unsigned request, path style: what a browser or CDN fetching a public URL sends. */
  function anonymous(bucket: string, key: string, method = 'GET'): Promise<Response> {
    return fetch(`${server.url}/${bucket}/${encodeURIComponent(key)}`, { method });
  }

  describe('object ACL', () => {
    it('is default until set, and putACL / getACL round-trip every OSS value', async () => {
      await client.put('acl/plain.txt', Buffer.from('x'));
      const before = await client.getACL('acl/plain.txt');
      expect(before.acl).toBe('default');
      expect(before.owner.id).toBe(server.accessKeyId);
      const lastModified = (await client.head('acl/plain.txt')).res.headers['last-modified'] as string;
      for (const acl of ['private', 'public-read', 'public-read-write', 'default']) {
        await client.putACL('acl/plain.txt', acl);
        expect((await client.getACL('acl/plain.txt')).acl).toBe(acl);
      }
      // Changing the ACL is not a write of the object.
      expect((await client.head('acl/plain.txt')).res.headers['last-modified']).toBe(lastModified);
    });

    it('answers NoSuchKey for the ACL of a missing object', async () => {
      await expect(client.getACL('acl/missing')).rejects.toMatchObject({ status: 404, code: 'NoSuchKey' });
    });

    it('a default object follows its bucket: anonymous reads only where the bucket is public', async () => {
      await client.put('acl/default.txt', Buffer.from('private bucket'));
      expect((await anonymous(server.bucket, 'acl/default.txt')).status).toBe(403);
      const pub = ossClient(server, { bucket: PUBLIC_READ_BUCKET });
      await pub.put('acl/default.txt', Buffer.from('public bucket'));
      const res = await anonymous(PUBLIC_READ_BUCKET, 'acl/default.txt');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('public bucket');
    });

    it('a public-read object in a private bucket is readable anonymously (GET and HEAD)', async () => {
      await client.put('acl/shared.txt', Buffer.from('shared'), {
        headers: { 'x-oss-object-acl': 'public-read' },
      });
      const got = await anonymous(server.bucket, 'acl/shared.txt');
      expect(got.status).toBe(200);
      expect(await got.text()).toBe('shared');
      expect((await anonymous(server.bucket, 'acl/shared.txt', 'HEAD')).status).toBe(200);
      // Reading is all it grants: the bucket still refuses anonymous writes and deletes.
      expect((await anonymous(server.bucket, 'acl/shared.txt', 'DELETE')).status).toBe(403);
      await client.putACL('acl/shared.txt', 'default');
      expect((await anonymous(server.bucket, 'acl/shared.txt')).status).toBe(403);
    });

    it('a private object in a public-read bucket is refused to anonymous GET and HEAD', async () => {
      const pub = ossClient(server, { bucket: PUBLIC_READ_BUCKET });
      await pub.put('acl/secret.txt', Buffer.from('secret'), { headers: { 'x-oss-object-acl': 'private' } });
      const got = await anonymous(PUBLIC_READ_BUCKET, 'acl/secret.txt');
      expect(got.status).toBe(403);
      expect(await got.text()).toContain('<Code>AccessDenied</Code>');
      expect((await anonymous(PUBLIC_READ_BUCKET, 'acl/secret.txt', 'HEAD')).status).toBe(403);
      // The owner still reads it.
      expect((await pub.get('acl/secret.txt')).content.toString()).toBe('secret');
    });

    it('avatar flow: an upload with a callback and x-oss-object-acl: public-read is served publicly', async () => {
      sink.received.length = 0;
      const uploaded = await client.put('avatars/user-42.png', Buffer.from('\x89PNG fake avatar', 'latin1'), {
        headers: { 'x-oss-object-acl': 'public-read', 'Content-Type': 'image/png' },
        callback: {
          url: `${sink.url}/avatar-uploaded`,
          body: 'object=${object}&size=${size}',
          contentType: 'application/x-www-form-urlencoded',
        },
      });
      expect(uploaded.res.status).toBe(200);
      expect(sink.received).toHaveLength(1);
      expect(sink.received[0]?.verified).toBe(true);
      expect(sink.received[0]?.body.toString()).toBe('object=avatars%2Fuser-42.png&size=16');
      // The app hands out the plain object URL; anyone can load it.
      const res = await anonymous(server.bucket, 'avatars/user-42.png');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await res.arrayBuffer()).toString('latin1')).toBe('\x89PNG fake avatar');
      // Other objects in the private bucket stay private.
      await client.put('avatars/draft.png', Buffer.from('draft'));
      expect((await anonymous(server.bucket, 'avatars/draft.png')).status).toBe(403);
    });

    it('is set by InitiateMultipartUpload, AppendObject and CopyObject', async () => {
      const init = await client.initMultipartUpload('acl/multi.bin', {
        headers: { 'x-oss-object-acl': 'public-read' },
      });
      const part = await client.uploadPart('acl/multi.bin', init.uploadId, 1, Buffer.from('part'), 0, 4);
      await client.completeMultipartUpload('acl/multi.bin', init.uploadId, [{ number: 1, etag: part.etag }]);
      expect((await client.getACL('acl/multi.bin')).acl).toBe('public-read');
      expect((await anonymous(server.bucket, 'acl/multi.bin')).status).toBe(200);

      await client.append('acl/log.txt', Buffer.from('one '));
      expect((await client.getACL('acl/log.txt')).acl).toBe('default');
      await client.append('acl/log.txt', Buffer.from('two'), {
        position: 4,
        headers: { 'x-oss-object-acl': 'public-read' },
      });
      expect((await client.getACL('acl/log.txt')).acl).toBe('public-read');

      // A copy gets the ACL the request names, else default (the source's is not copied).
      await client.copy('acl/copy-public.txt', 'acl/log.txt', {
        headers: { 'x-oss-object-acl': 'public-read' },
      });
      expect((await client.getACL('acl/copy-public.txt')).acl).toBe('public-read');
      await client.copy('acl/copy-default.txt', 'acl/log.txt');
      expect((await client.getACL('acl/copy-default.txt')).acl).toBe('default');
      expect((await anonymous(server.bucket, 'acl/copy-default.txt')).status).toBe(403);
      // Copying onto itself (to change metadata) keeps the object's ACL.
      await client.copy('acl/log.txt', 'acl/log.txt', { meta: { v: '2' } });
      expect((await client.getACL('acl/log.txt')).acl).toBe('public-read');
    });

    it('is set by the x-oss-object-acl field of a PostObject form', async () => {
      const form = new FormData();
      form.append('key', 'acl/posted.txt');
      form.append('x-oss-object-acl', 'private');
      form.append('x-oss-tagging', 'source=form');
      form.append('file', new Blob(['posted']), 'posted.txt');
      const posted = await fetch(`${server.url}/${OPEN_BUCKET}/`, { method: 'POST', body: form });
      expect(posted.status).toBe(204);
      const open = ossClient(server, { bucket: OPEN_BUCKET });
      expect((await open.getACL('acl/posted.txt')).acl).toBe('private');
      expect((await open.getObjectTagging('acl/posted.txt')).tag).toEqual({ source: 'form' });
      // Private object, public-read-write bucket: anonymous reads are refused.
      expect((await anonymous(OPEN_BUCKET, 'acl/posted.txt')).status).toBe(403);
    });

    it('an anonymous copy may read a public-read source in a private bucket, not a default one', async () => {
      await client.put('acl/copy-src-public.txt', Buffer.from('public source'), {
        headers: { 'x-oss-object-acl': 'public-read' },
      });
      await client.put('acl/copy-src-default.txt', Buffer.from('private source'));
      const copyAnonymously = (source: string) =>
        fetch(`${server.url}/${OPEN_BUCKET}/copied-${source.slice(4)}`, {
          method: 'PUT',
          headers: { 'x-oss-copy-source': `/${server.bucket}/${encodeURIComponent(source)}` },
        });
      expect((await copyAnonymously('acl/copy-src-public.txt')).status).toBe(200);
      expect((await anonymous(OPEN_BUCKET, 'copied-copy-src-public.txt')).status).toBe(200);
      expect((await copyAnonymously('acl/copy-src-default.txt')).status).toBe(403);
      expect((await anonymous(OPEN_BUCKET, 'copied-copy-src-default.txt')).status).toBe(404);
    });

    it('refuses an unknown ACL with InvalidArgument and changes nothing', async () => {
      await client.put('acl/stays.txt', Buffer.from('x'), { headers: { 'x-oss-object-acl': 'public-read' } });
      await expect(client.putACL('acl/stays.txt', 'public')).rejects.toMatchObject({
        status: 400,
        code: 'InvalidArgument',
      });
      expect((await client.getACL('acl/stays.txt')).acl).toBe('public-read');
    });
  });

  describe('object tagging', () => {
    it('x-oss-tagging on PutObject: tags readable and counted on HEAD and GET', async () => {
      await client.put('tags/put.txt', Buffer.from('x'), {
        headers: { 'x-oss-tagging': 'project=upcall&owner=team%20a&empty' },
      });
      const { tag } = await client.getObjectTagging('tags/put.txt');
      expect(tag).toEqual({ project: 'upcall', owner: 'team a', empty: '' });
      expect((await client.head('tags/put.txt')).res.headers['x-oss-tagging-count']).toBe('3');
      expect((await client.get('tags/put.txt')).res.headers['x-oss-tagging-count']).toBe('3');
    });

    it('putObjectTagging replaces the set, deleteObjectTagging clears it, Last-Modified stays', async () => {
      await client.put('tags/edit.txt', Buffer.from('x'), { headers: { 'x-oss-tagging': 'a=1' } });
      const lastModified = (await client.head('tags/edit.txt')).res.headers['last-modified'] as string;
      const put = await client.putObjectTagging('tags/edit.txt', { b: '2', 'c:d': 'e/f' });
      expect(put.status).toBe(200);
      expect((await client.getObjectTagging('tags/edit.txt')).tag).toEqual({ b: '2', 'c:d': 'e/f' });
      expect((await client.head('tags/edit.txt')).res.headers['x-oss-tagging-count']).toBe('2');
      const deleted = await client.deleteObjectTagging('tags/edit.txt');
      expect(deleted.status).toBe(204);
      expect((await client.getObjectTagging('tags/edit.txt')).tag).toEqual({});
      const head = await client.head('tags/edit.txt');
      expect(head.res.headers['x-oss-tagging-count']).toBeUndefined();
      expect(head.res.headers['last-modified']).toBe(lastModified);
    });

    it('accepts the full OSS limits: 10 tags, 128-character keys, 256-character values', async () => {
      await client.put('tags/limits.txt', Buffer.from('x'));
      const tags: Record<string, string> = {};
      for (let i = 0; i < 9; i++) tags[`k${i}`] = `v${i}`;
      tags['k'.repeat(128)] = 'v'.repeat(256);
      await client.putObjectTagging('tags/limits.txt', tags);
      expect((await client.getObjectTagging('tags/limits.txt')).tag).toEqual(tags);
    });

    it('x-oss-tagging on InitiateMultipartUpload tags the completed object', async () => {
      const init = await client.initMultipartUpload('tags/multi.bin', {
        headers: { 'x-oss-tagging': 'kind=video' },
      });
      const part = await client.uploadPart('tags/multi.bin', init.uploadId, 1, Buffer.from('part'), 0, 4);
      await client.completeMultipartUpload('tags/multi.bin', init.uploadId, [{ number: 1, etag: part.etag }]);
      expect((await client.getObjectTagging('tags/multi.bin')).tag).toEqual({ kind: 'video' });
    });

    it('CopyObject copies tags by default and replaces them with x-oss-tagging-directive: Replace', async () => {
      await client.put('tags/src.txt', Buffer.from('x'), { headers: { 'x-oss-tagging': 'from=source' } });
      await client.copy('tags/copied.txt', 'tags/src.txt');
      expect((await client.getObjectTagging('tags/copied.txt')).tag).toEqual({ from: 'source' });
      await client.copy('tags/replaced.txt', 'tags/src.txt', {
        headers: { 'x-oss-tagging-directive': 'Replace', 'x-oss-tagging': 'from=request' },
      });
      expect((await client.getObjectTagging('tags/replaced.txt')).tag).toEqual({ from: 'request' });
      await client.copy('tags/untagged.txt', 'tags/src.txt', {
        headers: { 'x-oss-tagging-directive': 'REPLACE' },
      });
      expect((await client.getObjectTagging('tags/untagged.txt')).tag).toEqual({});
    });

    it('answers NoSuchKey for the tags of a missing object', async () => {
      await expect(client.getObjectTagging('tags/missing')).rejects.toMatchObject({
        status: 404,
        code: 'NoSuchKey',
      });
      await expect(client.putObjectTagging('tags/missing', { a: '1' })).rejects.toMatchObject({
        status: 404,
        code: 'NoSuchKey',
      });
    });

    it('is owner-only: anonymous tagging and ACL requests are refused even on a public bucket', async () => {
      const open = ossClient(server, { bucket: OPEN_BUCKET });
      await open.put('tags/open.txt', Buffer.from('x'), { headers: { 'x-oss-tagging': 'a=1' } });
      const url = `${server.url}/${OPEN_BUCKET}/tags/open.txt`;
      expect((await fetch(`${url}?tagging`)).status).toBe(403);
      expect((await fetch(`${url}?tagging`, { method: 'DELETE' })).status).toBe(403);
      expect((await fetch(`${url}?acl`)).status).toBe(403);
      expect((await open.getObjectTagging('tags/open.txt')).tag).toEqual({ a: '1' });
    });
  });
});
