/**
 * The private-address switch (`forbidPrivateAddresses`, `--forbid-private-callbacks`) against
 * addresses that are not globally reachable in every form that reaches them, and against DNS
 * rebinding: a resolver that answers a public address when asked first and a loopback one after.
 * The connection must go to the address that was checked, so the app server on loopback never
 * hears of the upload.
 */
import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCallbackAddressGuard,
  isPrivateAddress,
} from '../../../src/server/callback/callback-address-guard.ts';
import { ossClient } from '../../helpers/ali-oss-client.ts';
import { startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

describe('forbidden callback addresses', () => {
  it('covers documentation, benchmarking, reserved and multicast nets, in every IPv6 form', () => {
    for (const address of [
      '192.0.2.1',
      '198.18.0.1',
      '198.19.255.254',
      '198.51.100.7',
      '203.0.113.9',
      '240.0.0.1',
      '255.255.255.255',
      '224.0.0.1',
      '192.0.0.8',
      '::ffff:192.0.2.1',
      '::ffff:127.0.0.1',
      '::127.0.0.1',
      '64:ff9b::10.0.0.1',
      '64:ff9b::7f00:1',
      '2002:c0a8:0101::1', // 6to4 of 192.168.1.1
      '2002:7f00:1::', // 6to4 of 127.0.0.1
      '2001:db8::1',
      'ff02::1',
      '[::1]',
      '[fd00::2]',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['8.8.8.8', '198.20.0.1', '203.0.114.1', '2606:4700::1111', '64:ff9b::808:808']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });

  it('refuses names whose answer includes a forbidden address, and names that do not resolve', async () => {
    const guard = createCallbackAddressGuard({
      lookup: async (hostname) => {
        if (hostname === 'mixed.test') {
          return [
            { address: '8.8.8.8', family: 4 },
            { address: '198.18.0.1', family: 4 },
          ];
        }
        if (hostname === 'public.test') return [{ address: '8.8.4.4', family: 4 }];
        throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      },
    });
    const spec = (url: string) => ({
      urls: [new URL(url)],
      body: 'a=b',
      bodyType: 'application/x-www-form-urlencoded' as const,
      sni: false,
      vars: {},
    });
    await expect(guard.assertPublic(spec('http://mixed.test/cb'), '{}')).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'Private address is forbidden to callback.',
      details: { EC: '0007-00000008' },
    });
    await expect(guard.assertPublic(spec('http://missing.test/cb'), '{}')).rejects.toMatchObject({
      message: 'Can not get ip by this host.',
      details: { EC: '0007-00000007' },
    });
    await expect(guard.assertPublic(spec('http://public.test/cb'), '{}')).resolves.toBeUndefined();
    await expect(guard.resolve('public.test')).resolves.toEqual([{ address: '8.8.4.4', family: 4 }]);
  });
});

describe('DNS rebinding', () => {
  let sink: CallbackSink;
  let server: TestServer;
  const asked: string[] = [];
  /** A public address for the first two questions (the check before storing, the connect), then loopback. */
  let answers: string[] = [];

  beforeAll(async () => {
    sink = await startCallbackSink();
    server = await startTestServer({
      callback: {
        keyBits: 1024,
        timeoutMs: 500,
        forbidPrivateAddresses: true,
        lookup: async (hostname): Promise<LookupAddress[]> => {
          asked.push(hostname);
          const address = answers.shift() ?? '127.0.0.1';
          return [{ address, family: 4 }];
        },
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await sink.close();
  });

  it('connects to the address it checked, never to a later answer', async () => {
    // 93.184.215.14 is public: whatever becomes of that connection (refused, unreachable, a
    // timeout), it is not the sink on 127.0.0.1, which a second look-up would reach.
    answers = ['93.184.215.14', '93.184.215.14'];
    const port = new URL(sink.url).port;
    const error = await ossClient(server)
      .put('rebind.txt', Buffer.from('x'), {
        callback: { url: `http://rebind.example.test:${port}/cb`, body: 'k=${object}' },
      })
      .catch((caught: unknown) => caught as { status: number; code: string });
    expect(error).toMatchObject({ status: 203, code: 'CallbackFailed' });
    expect(sink.received).toHaveLength(0);
    // Once before storing and once to connect: the socket took the connect's checked answer.
    expect(asked).toEqual(['rebind.example.test', 'rebind.example.test']);
  });

  it('refuses at connect a name that rebinds to loopback after the check before storing', async () => {
    asked.length = 0;
    answers = ['93.184.215.14'];
    const port = new URL(sink.url).port;
    const error = await ossClient(server)
      .put('rebind-2.txt', Buffer.from('x'), {
        callback: { url: `http://rebind-2.example.test:${port}/cb`, body: 'k=${object}' },
      })
      .catch((caught: unknown) => caught as { status: number; code: string; message: string });
    expect(error).toMatchObject({ status: 203, code: 'CallbackFailed' });
    expect(error.message).toContain('OSS can not connect to your callbackUrl');
    expect(sink.received).toHaveLength(0);
    expect(asked).toEqual(['rebind-2.example.test', 'rebind-2.example.test']);
  });
});
