import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOssError } from '../shared/oss-error.ts';
import { signCallback, verifyCallbackSignature } from './callback-signature.ts';
import { parseCallback, type CallbackBodyType } from './parse-callback.ts';
import { renderCallbackBody, SYSTEM_VARIABLE_NAMES, type UploadFacts } from './render-callback-body.ts';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

// `xn--…` labels are punycode, which the URL parser rightly rejects when not valid (`xn--0`).
const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/).filter((l) => !l.startsWith('xn--'));
const hostname = fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.'));
const pathSegment = fc.stringMatching(/^[A-Za-z0-9._~-]{0,8}$/);
const url = fc
  .record({
    scheme: fc.constantFrom('http://', 'https://', ''),
    host: hostname,
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    path: fc.array(pathSegment, { maxLength: 3 }),
    query: fc.option(fc.stringMatching(/^[a-z0-9=&]{1,10}$/), { nil: undefined }),
  })
  .map(
    ({ scheme, host, port, path, query }) =>
      `${scheme}${host}${port === undefined ? '' : `:${port}`}/${path.join('/')}${query === undefined ? '' : `?${query}`}`,
  );
// Template text without `$`, mixed with well-formed placeholders.
const template = fc
  .array(
    fc.oneof(
      fc.string({ maxLength: 10 }).map((s) => s.replaceAll('$', '')),
      fc.constantFrom(...SYSTEM_VARIABLE_NAMES).map((n) => `\${${n}}`),
      fc.stringMatching(/^[a-z0-9]{1,5}$/).map((n) => `\${x:${n}}`),
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((parts) => parts.join(''))
  .filter((s) => s.length > 0);
const vars = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }).map((k) => `x:${k}`),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  { maxKeys: 4 },
);

describe('callback engine properties', () => {
  it('parse(encode(spec)) returns the spec', () => {
    fc.assert(
      fc.property(
        fc.array(url, { minLength: 1, maxLength: 5 }),
        fc.option(hostname, { nil: undefined }),
        template,
        fc.constantFrom<CallbackBodyType>('application/x-www-form-urlencoded', 'application/json'),
        fc.boolean(),
        vars,
        (urls, host, body, bodyType, sni, customVars) => {
          const json: Record<string, unknown> = { callbackUrl: urls.join(';'), callbackBody: body };
          if (host !== undefined) json['callbackHost'] = host;
          json['callbackBodyType'] = bodyType;
          if (sni) json['callbackSNI'] = true;
          const spec = parseCallback({ header: b64(json), varHeader: b64(customVars) });
          expect(spec).toBeDefined();
          expect(spec!.urls.map((u) => u.href)).toEqual(
            urls.map((u) => new URL(/^https?:\/\//.test(u) ? u : `http://${u}`).href),
          );
          expect(spec!.host).toBe(host);
          expect(spec!.body).toBe(body);
          expect(spec!.bodyType).toBe(bodyType);
          expect(spec!.sni).toBe(sni);
          expect(spec!.vars).toEqual(customVars);
        },
      ),
    );
  });

  it('parse only ever throws InvalidArgument, whatever the input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.base64String(),
          fc.json().map((j) => Buffer.from(j).toString('base64')),
        ),
        fc.option(
          fc.oneof(
            fc.string(),
            fc.json().map((j) => Buffer.from(j).toString('base64')),
          ),
          { nil: undefined },
        ),
        (header, varHeader) => {
          try {
            parseCallback({ header, varHeader });
          } catch (error) {
            expect(isOssError(error) && error.code === 'InvalidArgument').toBe(true);
          }
        },
      ),
    );
  });

  it('render never throws and leaves no known placeholder', () => {
    const noDollar = fc.string({ unit: 'binary', maxLength: 20 }).map((s) => s.replaceAll('$', ''));
    const facts = fc.record<UploadFacts>({
      bucket: noDollar,
      object: noDollar,
      etag: noDollar,
      size: fc.nat(),
      mimeType: noDollar,
      imageInfo: fc.option(fc.record({ width: fc.nat(), height: fc.nat(), format: noDollar }), {
        nil: undefined,
      }),
      crc64: noDollar,
      contentMd5: fc.option(noDollar, { nil: undefined }),
      vpcId: fc.option(noDollar, { nil: undefined }),
      clientIp: noDollar,
      reqId: noDollar,
      operation: fc.constantFrom('PutObject', 'PostObject', 'CompleteMultipartUpload'),
    });
    const anyTemplate = fc
      .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), template), { maxLength: 6 })
      .map((p) => p.join(''));
    const anyVars = fc.dictionary(
      fc.string().map((k) => `x:${k}`),
      noDollar,
      { maxKeys: 4 },
    );
    fc.assert(
      fc.property(
        anyTemplate,
        fc.constantFrom<CallbackBodyType>('application/x-www-form-urlencoded', 'application/json'),
        anyVars,
        facts,
        (body, bodyType, customVars, uploadFacts) => {
          const out = renderCallbackBody({ body, bodyType, vars: customVars }, uploadFacts);
          for (const name of SYSTEM_VARIABLE_NAMES) expect(out).not.toContain(`\${${name}}`);
          expect(out).not.toMatch(/\$\{x:[^}]*\}/);
        },
      ),
    );
  });

  it('verify(sign(target, body)) holds for unicode targets and bodies, and a changed body fails', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const target = fc
      .tuple(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 6 }), { maxLength: 3 }),
        fc.option(fc.string({ unit: 'grapheme', maxLength: 10 }), { nil: undefined }),
      )
      .map(([segments, query]) => {
        const path = `/${segments.map(encodeURIComponent).join('/')}`;
        return query === undefined ? path : `${path}?${encodeURIComponent(query)}`;
      });
    fc.assert(
      fc.property(target, fc.string({ unit: 'grapheme', maxLength: 40 }), (t, text) => {
        const body = Buffer.from(text, 'utf8');
        const signature = signCallback(t, body, privateKey);
        expect(verifyCallbackSignature(t, body, signature, publicKey)).toBe(true);
        const tampered = Buffer.concat([body, Buffer.from('x')]);
        expect(verifyCallbackSignature(t, tampered, signature, publicKey)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});
