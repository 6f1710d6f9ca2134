import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOssError } from '../shared/oss-error.ts';
import { signCallback, verifyCallbackSignature } from './callback-signature.ts';
import { parseCallback, type CallbackBodyType } from './parse-callback.ts';
import {
  formEncode,
  renderCallbackBody,
  SYSTEM_VARIABLE_NAMES,
  type UploadFacts,
} from './render-callback-body.ts';

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

/** Upload facts whose text fields come from `text`. */
function uploadFacts(text: fc.Arbitrary<string>): fc.Arbitrary<UploadFacts> {
  return fc.record<UploadFacts>({
    bucket: text,
    object: text,
    etag: text,
    size: fc.nat(),
    mimeType: text,
    imageInfo: fc.option(fc.record({ width: fc.nat(), height: fc.nat(), format: text }), { nil: undefined }),
    crc64: text,
    contentMd5: fc.option(text, { nil: undefined }),
    vpcId: fc.option(text, { nil: undefined }),
    clientIp: text,
    reqId: text,
    operation: fc.constantFrom('PutObject', 'PostObject', 'CompleteMultipartUpload'),
  });
}

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
    const facts = uploadFacts(noDollar);
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

  it('formEncode is §3.2 byte by byte: unreserved ASCII kept, every other UTF-8 byte as upper-case %XX', () => {
    const byteWise = (text: string): string =>
      [...Buffer.from(text, 'utf8')] // a lone surrogate is U+FFFD here
        .map((b) =>
          /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b))
            ? String.fromCharCode(b)
            : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
        )
        .join('');
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string()),
        (text) => {
          expect(formEncode(text)).toBe(byteWise(text));
        },
      ),
    );
  });

  it('render equals a character-by-character model of §3 on any template', () => {
    // The model: walk the template one character at a time; `${name}` with a known name is
    // replaced (form: formEncode; JSON: bare numbers, JSON strings, unquoted inside a string);
    // in JSON mode a backslash inside a string hides the next character from quote tracking,
    // except a `$`.
    const bare = new Set(['size', 'imageInfo.height', 'imageInfo.width']);
    const model = (body: string, json: boolean, vars: Record<string, string>, f: UploadFacts): string => {
      const system: Record<string, string> = {
        bucket: f.bucket,
        object: f.object,
        etag: f.etag,
        size: String(f.size),
        mimeType: f.mimeType,
        'imageInfo.height': f.imageInfo ? String(f.imageInfo.height) : '',
        'imageInfo.width': f.imageInfo ? String(f.imageInfo.width) : '',
        'imageInfo.format': f.imageInfo?.format ?? '',
        crc64: f.crc64,
        contentMd5: f.contentMd5 ?? '',
        vpcId: f.vpcId ?? '',
        clientIp: f.clientIp,
        reqId: f.reqId,
        operation: f.operation,
      };
      let out = '';
      let inString = false;
      for (let i = 0; i < body.length;) {
        if (body[i] === '$' && body[i + 1] === '{' && body.indexOf('}', i + 2) !== -1) {
          const close = body.indexOf('}', i + 2);
          const name = body.slice(i + 2, close);
          const text = name.startsWith('x:')
            ? Object.hasOwn(vars, name)
              ? vars[name]
              : ''
            : Object.hasOwn(system, name)
              ? system[name]
              : undefined;
          if (text !== undefined) {
            const literal = JSON.stringify(text);
            out += !json
              ? formEncode(text)
              : bare.has(name)
                ? text
                : inString
                  ? literal.slice(1, -1)
                  : literal;
            i = close + 1;
            continue;
          }
        }
        if (json && body[i] === '\\' && inString && body[i + 1] !== '$') {
          out += body.slice(i, i + 2);
          i += 2;
          continue;
        }
        if (json && body[i] === '"') inString = !inString;
        out += body[i];
        i += 1;
      }
      return out;
    };
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const facts = uploadFacts(text);
    // Templates rich in the characters that steer the renderer: `$`, `{`, `}`, quotes, backslashes.
    const piece = fc.oneof(
      template,
      fc.constantFrom('$', '${', '}', '"', '\\', '\\"', '\\$', '${x:', '${size}', '"${object}"', '${nope}'),
      fc.string({ unit: 'binary', maxLength: 4 }),
    );
    const anyTemplate = fc.array(piece, { maxLength: 10 }).map((p) => p.join(''));
    fc.assert(
      fc.property(
        anyTemplate,
        fc.boolean(),
        fc.dictionary(
          fc.string({ maxLength: 4 }).map((k) => `x:${k}`),
          text,
          { maxKeys: 3 },
        ),
        facts,
        (body, json, customVars, uploadFacts) => {
          const bodyType: CallbackBodyType = json ? 'application/json' : 'application/x-www-form-urlencoded';
          expect(renderCallbackBody({ body, bodyType, vars: customVars }, uploadFacts)).toBe(
            model(body, json, customVars, uploadFacts),
          );
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
