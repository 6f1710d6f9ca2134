/**
 * Temporary credentials may be granted the object-settings actions a token lists: PutObjectAcl,
 * GetObjectAcl, the three tagging actions and RestoreObject (OSS RAM action names). Each works
 * through ali-oss inside the token's prefix and is refused outside it, and a token that does not
 * list the action is refused.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintTemporaryCredentials, type TemporaryAction } from '../../../src/client/temporary-credentials.ts';
import {
  ACCESS_KEY_ID,
  ACCESS_KEY_SECRET,
  createMultipartTestBed,
  type MultipartTestBed,
} from '../../helpers/multipart-test-bed.ts';

/** The ali-oss calls this file makes (ali-oss ships no types). */
interface SettingsClient {
  putACL(name: string, acl: string): Promise<{ res: { status: number } }>;
  getACL(name: string): Promise<{ acl: string }>;
  putObjectTagging(name: string, tag: Record<string, string>): Promise<{ status: number }>;
  getObjectTagging(name: string): Promise<{ tag: Record<string, string> }>;
  deleteObjectTagging(name: string): Promise<{ status: number }>;
  restore(name: string): Promise<{ res: { status: number } }>;
}

const BUCKET = 'sts-settings';
const SETTINGS_ACTIONS: TemporaryAction[] = [
  'PutObjectAcl',
  'GetObjectAcl',
  'PutObjectTagging',
  'GetObjectTagging',
  'DeleteObjectTagging',
  'RestoreObject',
];

let bed: MultipartTestBed;

beforeAll(async () => {
  bed = await createMultipartTestBed(BUCKET);
  const meta = { contentType: 'text/plain', userMeta: {} };
  for (const key of ['user-7/a.txt', 'user-8/b.txt']) {
    await bed.store.putObject(BUCKET, key, Readable.from([Buffer.from('x')]), { meta });
  }
  await bed.store.putObject(BUCKET, 'user-7/cold.txt', Readable.from([Buffer.from('x')]), {
    meta,
    settings: { storageClass: 'Archive' },
  });
});

afterAll(() => bed.close());

function client(actions: TemporaryAction[]): SettingsClient {
  const credentials = mintTemporaryCredentials({
    rootAccessKeyId: ACCESS_KEY_ID,
    rootAccessKeySecret: ACCESS_KEY_SECRET,
    policy: { bucket: BUCKET, prefix: 'user-7/', actions, expiresInSeconds: 900 },
    now: new Date(),
  });
  return bed.client({
    accessKeyId: credentials.AccessKeyId,
    accessKeySecret: credentials.AccessKeySecret,
    stsToken: credentials.SecurityToken,
  }) as unknown as SettingsClient;
}

describe('temporary credentials and object settings', () => {
  it('sets and reads the ACL and tags of an object inside the prefix, and restores it', async () => {
    const sts = client(SETTINGS_ACTIONS);
    expect((await sts.putACL('user-7/a.txt', 'public-read')).res.status).toBe(200);
    expect((await sts.getACL('user-7/a.txt')).acl).toBe('public-read');
    expect((await sts.putObjectTagging('user-7/a.txt', { team: 'mobile' })).status).toBe(200);
    expect((await sts.getObjectTagging('user-7/a.txt')).tag).toEqual({ team: 'mobile' });
    expect((await sts.deleteObjectTagging('user-7/a.txt')).status).toBe(204);
    expect((await sts.restore('user-7/cold.txt')).res.status).toBe(202);
  });

  it('refuses them outside the prefix', async () => {
    const sts = client(SETTINGS_ACTIONS);
    await expect(sts.putACL('user-8/b.txt', 'public-read')).rejects.toMatchObject({ status: 403 });
    await expect(sts.putObjectTagging('user-8/b.txt', { a: 'b' })).rejects.toMatchObject({ status: 403 });
  });

  it('refuses an action the token does not list', async () => {
    const sts = client(['GetObjectAcl']);
    expect((await sts.getACL('user-7/a.txt')).acl).toBeDefined();
    await expect(sts.putACL('user-7/a.txt', 'private')).rejects.toMatchObject({
      status: 403,
      code: 'AccessDenied',
    });
  });
});
