import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signCallback } from './callback-signature.ts';
import { parseCallbackBody } from './callback-body.ts';
import { CallbackVerificationError } from './callback-verification-error.ts';
import { createPublicKeyResolver } from './public-key-resolver.ts';
import { verifyOssCallback } from './verify-oss-callback.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const resolver = createPublicKeyResolver({ publicKey });

const contentTypes = fc.constantFrom(
  undefined,
  'application/json',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/vnd.api+json',
  'text/plain',
  '',
);
const segment = fc.stringMatching(/^[A-Za-z0-9._~%-]{0,12}$/);
const target = fc
  .tuple(
    fc.array(segment, { minLength: 1, maxLength: 4 }),
    fc.option(fc.stringMatching(/^[A-Za-z0-9=&%+]{0,20}$/)),
  )
  .map(([parts, query]) => `/${parts.join('/')}${query === null ? '' : `?${query}`}`);

describe('receiver properties', () => {
  it('parseCallbackBody never throws and only reports x: names as vars', () => {
    fc.assert(
      fc.property(contentTypes, fc.uint8Array({ maxLength: 200 }), (type, bytes) => {
        const facts = parseCallbackBody(type, bytes);
        expect(['form', 'json', 'unparsed']).toContain(facts.format);
        for (const name of Object.keys(facts.vars)) expect(name.startsWith('x:')).toBe(true);
      }),
    );
  });

  it('form bodies round-trip x: variables', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^x:[a-z][a-z0-9_]{0,8}$/), fc.string({ maxLength: 20 })),
        (vars) => {
          const body = Buffer.from(new URLSearchParams(vars).toString());
          expect(parseCallbackBody('application/x-www-form-urlencoded', body).vars).toEqual(vars);
        },
      ),
    );
  });

  it('verify(sign(x)) holds and any flipped body bit fails', async () => {
    await fc.assert(
      fc.asyncProperty(
        target,
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.nat(),
        async (t, body, flip) => {
          const authorization = signCallback(t, body, privateKey);
          const headers = { authorization, 'content-type': 'application/json' };
          await expect(
            verifyOssCallback({ method: 'POST', target: t, headers, body }, { resolver }),
          ).resolves.toMatchObject({ verified: true, target: t });
          const tampered = Uint8Array.from(body);
          const bit = flip % (tampered.length * 8);
          tampered[bit >> 3] = tampered[bit >> 3]! ^ (1 << (bit & 7));
          const err = await verifyOssCallback(
            { method: 'POST', target: t, headers, body: tampered },
            { resolver },
          ).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(CallbackVerificationError);
          expect((err as CallbackVerificationError).reason).toBe('signature-mismatch');
        },
      ),
      { numRuns: 100 },
    );
  });
});
