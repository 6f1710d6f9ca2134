import { describe, expect, it } from 'vitest';
import { isOssError } from '../shared/oss-error.ts';
import { isReadable, parseStorageClass, restoreInfo, restoreState } from './storage-class.ts';

const READY = new Date('2026-12-07T10:00:00Z');
const EXPIRES = new Date('2026-12-08T10:00:00Z');
const restore = { readyAt: READY, expiresAt: EXPIRES };

describe('restore state', () => {
  it('is ongoing before readyAt, restored until expiresAt, and none after', () => {
    expect(restoreState({}, READY)).toBe('none');
    expect(restoreState({ restore }, new Date(READY.getTime() - 1))).toBe('ongoing');
    expect(restoreState({ restore }, READY)).toBe('restored');
    expect(restoreState({ restore }, new Date(EXPIRES.getTime() - 1))).toBe('restored');
    expect(restoreState({ restore }, EXPIRES)).toBe('none');
  });

  it('reports x-oss-restore as OSS writes it', () => {
    expect(restoreInfo({ restore }, new Date(READY.getTime() - 1))).toBe('ongoing-request="true"');
    expect(restoreInfo({ restore }, READY)).toBe(
      'ongoing-request="false", expiry-date="Tue, 08 Dec 2026 10:00:00 GMT"',
    );
    expect(restoreInfo({ restore }, EXPIRES)).toBeUndefined();
  });

  it('archived objects are readable only while restored; other classes always', () => {
    for (const storageClass of ['Archive', 'ColdArchive', 'DeepColdArchive'] as const) {
      expect(isReadable({ storageClass }, READY)).toBe(false);
      expect(isReadable({ storageClass, restore }, READY)).toBe(true);
      expect(isReadable({ storageClass, restore }, EXPIRES)).toBe(false);
    }
    expect(isReadable({ storageClass: 'Standard' }, READY)).toBe(true);
    expect(isReadable({ storageClass: 'IA' }, READY)).toBe(true);
  });
});

describe('parseStorageClass', () => {
  it('takes the OSS names and refuses others with InvalidArgument', () => {
    expect(parseStorageClass(' ColdArchive ', 'x')).toBe('ColdArchive');
    for (const bad of ['standard', 'GLACIER', '', 'Archive2']) {
      let code: string | undefined;
      try {
        parseStorageClass(bad, 'x-oss-storage-class');
      } catch (error) {
        code = isOssError(error) ? error.code : 'not an OssError';
      }
      expect(code, bad).toBe('InvalidArgument');
    }
  });
});
