/**
 * The bad-input tables' witness: an object stored before any bad request is sent, which must read
 * back unchanged after every row (a bad request never damages what is stored).
 */
import { expect } from 'vitest';
import { signedRequest } from './raw-request.ts';
import type { TestServer } from './start-test-server.ts';

export const VICTIM = 'victim.txt';
export const VICTIM_BODY = 'the original body';

export async function storeVictim(server: TestServer): Promise<void> {
  const put = await signedRequest(server, {
    method: 'PUT',
    bucket: server.bucket,
    key: VICTIM,
    body: VICTIM_BODY,
  });
  expect(put.status).toBe(200);
}

export async function expectVictimIntact(server: TestServer): Promise<void> {
  const got = await signedRequest(server, { method: 'GET', bucket: server.bucket, key: VICTIM });
  expect(got.status).toBe(200);
  expect(got.text).toBe(VICTIM_BODY);
}
