// The callback signer on real worker threads: what it returns is exactly signCallback's value,
// the workers take the work once one is up, and no way a worker goes away fails a signature.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { signCallback, verifyCallbackSignature } from 'upcall-verify';
import { createCallbackSigner, type CallbackSigner } from './callback-signer.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });

const signers: CallbackSigner[] = [];
afterEach(async () => {
  await Promise.all(signers.splice(0).map((s) => s.close()));
});

function signer(...args: Parameters<typeof createCallbackSigner>): CallbackSigner {
  const created = createCallbackSigner(...args);
  signers.push(created);
  return created;
}

function request(i: number): { target: string; body: Buffer } {
  return { target: `/cb/%E4%B8%AD?n=${i}`, body: Buffer.from(`bucket=b&object=k${i}&size=${i}`) };
}

describe('createCallbackSigner', () => {
  it('answers what signCallback answers, from the workers once they are up', async () => {
    const s = signer(privateKey, { threads: 2 });
    expect(await s.ready()).toBe(true);
    const requests = Array.from({ length: 40 }, (_, i) => request(i));
    const signatures = await Promise.all(requests.map((r) => s.sign(r.target, r.body)));
    requests.forEach((r, i) => {
      // PKCS#1 v1.5 is deterministic: the same key and bytes give the same signature.
      expect(signatures[i]).toBe(signCallback(r.target, r.body, privateKey));
      expect(verifyCallbackSignature(r.target, r.body, signatures[i] as string, publicKey)).toBe(true);
    });
    expect(s.signed).toEqual({ worker: 40, threadpool: 0 });
  });

  it('signs a body that is a slice of a larger buffer by its own bytes only', async () => {
    const s = signer(privateKey, { threads: 1 });
    expect(await s.ready()).toBe(true);
    const slab = Buffer.from('0123456789bucket=b&object=slice9876543210');
    const body = slab.subarray(10, slab.length - 10);
    expect(await s.sign('/cb', body)).toBe(
      signCallback('/cb', Buffer.from('bucket=b&object=slice'), privateKey),
    );
  });

  it('resolves a lazily made key once and signs with it', async () => {
    let calls = 0;
    const s = signer(async () => {
      calls++;
      return privateKey;
    });
    const [a, b] = await Promise.all([s.sign('/a', Buffer.from('1')), s.sign('/b', Buffer.from('2'))]);
    expect(a).toBe(signCallback('/a', Buffer.from('1'), privateKey));
    expect(b).toBe(signCallback('/b', Buffer.from('2'), privateKey));
    await s.sign('/c', Buffer.from('3'));
    expect(calls).toBeLessThanOrEqual(2); // the two first calls may both ask; never a third
  });

  it('finishes the jobs of workers stopped mid-way on the threadpool, and keeps signing after', async () => {
    const s = signer(privateKey, { threads: 1 });
    expect(await s.ready()).toBe(true);
    const requests = Array.from({ length: 30 }, (_, i) => request(i));
    const pending = requests.map((r) => s.sign(r.target, r.body));
    await s.close();
    const signatures = await Promise.all(pending);
    requests.forEach((r, i) => expect(signatures[i]).toBe(signCallback(r.target, r.body, privateKey)));
    const onThreadpool = s.signed.threadpool;
    expect(onThreadpool).toBeGreaterThan(0); // the stop did catch jobs in flight
    expect(await s.sign('/after', Buffer.from('close'))).toBe(
      signCallback('/after', Buffer.from('close'), privateKey),
    );
    expect(s.signed.threadpool).toBe(onThreadpool + 1);
  });

  it('signs on the threadpool until a worker is up', async () => {
    const s = signer(privateKey, { threads: 1 });
    expect(await s.sign('/first', Buffer.from('1'))).toBe(
      signCallback('/first', Buffer.from('1'), privateKey),
    );
    expect(s.signed).toEqual({ worker: 0, threadpool: 1 });
  });

  it('rejects when the key cannot sign, on the threadpool and on a worker alike', async () => {
    const notPrivate = publicKey;
    const s = signer(notPrivate, { threads: 1 });
    await expect(s.sign('/x', Buffer.from('y'))).rejects.toThrow(); // threadpool: no worker yet
    expect(await s.ready()).toBe(true);
    await expect(s.sign('/x', Buffer.from('y'))).rejects.toThrow(/key/i); // the worker's 'failed'
    expect(s.signed).toEqual({ worker: 0, threadpool: 0 });
  });
});
