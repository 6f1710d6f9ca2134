/**
 * Parses and validates the `callback` / `callback-var` parameters of an upload (SPEC.md §2) into a
 * typed CallbackSpec, before anything is stored (§12.2).
 *
 * Owns: where the parameters may come from (header, presigned query, PostObject form), the size,
 * base64 and JSON checks, URL / body / body-type / SNI / var validation, and the exact
 * InvalidArgument messages and EC codes of §2.3. Validation runs in the order of §12.2 so the first
 * failure reported is the one OSS would report.
 *
 * Pure: no I/O, no module state. The private-address check needs DNS, so it lives in the server
 * (src/server/callback/callback-address-guard.ts) and runs on the URLs returned here. A caller
 * that parses many uploads' parameters (the server's callback runtime) owns a
 * `createCallbackParser()`, which keeps the specs of recent values.
 * Invariant: a returned CallbackSpec has 1..5 http(s) URLs, a non-empty body template without
 * malformed `$(`/`${` syntax, one of the two body types, and string-valued `x:` vars.
 */
import { ossError, type OssError } from '../shared/oss-error.ts';
import { RecentMap } from '../shared/recent-map.ts';

export type CallbackBodyType = 'application/x-www-form-urlencoded' | 'application/json';

export interface CallbackSpec {
  /**
   * 1..5 URLs, tried in order (§4). Scheme-less values were given `http://`. Shared between the
   * uploads that send the same parameter (it is parsed once): never modified.
   */
  readonly urls: readonly URL[];
  /** `callbackHost`: the Host header of the callback request, when given. */
  host?: string;
  /** `callbackBody`: the template with `${…}` placeholders (§3). */
  body: string;
  bodyType: CallbackBodyType;
  /** `callbackSNI`: send TLS SNI to https callback URLs. */
  sni: boolean;
  /** Custom variables, keyed by their full name (`x:name`). */
  vars: Record<string, string>;
}

/** The callback parameters of a PutObject or CompleteMultipartUpload request (§2.1). */
export interface CallbackRequestParams {
  /** `x-oss-callback` header */
  header?: string | undefined;
  /** `callback` query parameter (presigned URL) */
  query?: string | undefined;
  /** `x-oss-callback-var` header */
  varHeader?: string | undefined;
  /** `callback-var` query parameter */
  varQuery?: string | undefined;
}

export interface ParseCallbackOptions {
  /**
   * Real OSS's private-address refusal (§2.3, 0007-00000008), for literal IP hosts: checked here
   * so it is reported in §12.2 order (after the URLs, before the body). Host names need DNS; the
   * server checks those after parsing (src/server/callback/callback-address-guard.ts).
   */
  isForbiddenAddress?: ((hostname: string) => boolean) | undefined;
}

/** Limits of §2.3 ("5 KB" of base64 text; exact boundary [U], treated as 5120 bytes). */
export const MAX_CALLBACK_LENGTH = 5120;
export const MAX_CALLBACK_VAR_LENGTH = 5120;
export const MAX_CALLBACK_URLS = 5;

const FORM_TYPE = 'application/x-www-form-urlencoded' as const;
const JSON_TYPE = 'application/json' as const;

/**
 * Header or presigned-query callback (PutObject, CompleteMultipartUpload).
 * Returns undefined when the request asks for no callback.
 * @throws OssError InvalidArgument (400) with ArgumentName/ArgumentValue/EC details
 */
export function parseCallback(
  params: CallbackRequestParams,
  options: ParseCallbackOptions = {},
): CallbackSpec | undefined {
  return parseRequestParams(params, options, parseCallbackValueAnew);
}

/**
 * PostObject: the `callback` form field plus one form field per custom variable (`x:name`, raw
 * values), and optionally a whole `callback-var` field (§7.2; SPEC recommends accepting it).
 * `fields` holds every form field except the file. Returns undefined without a callback field.
 */
export function parseFormCallback(
  fields: ReadonlyMap<string, string>,
  options: ParseCallbackOptions = {},
): CallbackSpec | undefined {
  return parseFormFields(fields, options, parseCallbackValueAnew);
}

/** parseCallback and parseFormCallback, with the specs of recent callback values kept. */
export interface CallbackParser {
  parseCallback(params: CallbackRequestParams, options?: ParseCallbackOptions): CallbackSpec | undefined;
  parseFormCallback(
    fields: ReadonlyMap<string, string>,
    options?: ParseCallbackOptions,
  ): CallbackSpec | undefined;
}

/**
 * An app sends the same callback parameter with every upload (one URL, one template), so a parser
 * keeps the specs of recent values, keyed by the base64 text: only the first upload pays for
 * base64, JSON and URL parsing. Bounded: at most 64 values of at most MAX_CALLBACK_LENGTH
 * characters, the oldest dropped first. A value that fails is not kept; it fails again in full.
 * The results are those of parseCallback / parseFormCallback.
 */
export function createCallbackParser(): CallbackParser {
  const parsedValues = new RecentMap<
    string,
    { spec: CallbackSpec | undefined; isForbiddenAddress: ParseCallbackOptions['isForbiddenAddress'] }
  >(64);
  const parseValue: ParseValue = (value, options) => {
    const kept = parsedValues.get(value);
    if (kept !== undefined && kept.isForbiddenAddress === options.isForbiddenAddress) {
      return kept.spec === undefined ? undefined : { ...kept.spec, vars: {} };
    }
    const spec = parseCallbackValueAnew(value, options);
    parsedValues.set(value, { spec, isForbiddenAddress: options.isForbiddenAddress });
    return spec === undefined ? undefined : { ...spec, vars: {} };
  };
  return {
    parseCallback: (params, options = {}) => parseRequestParams(params, options, parseValue),
    parseFormCallback: (fields, options = {}) => parseFormFields(fields, options, parseValue),
  };
}

/**
 * Validates one non-empty base64 callback value (§2.3, in §12.2 order). Each call returns its own
 * spec object (callers set `vars`); the URL objects may be shared, read-only.
 */
type ParseValue = (value: string, options: ParseCallbackOptions) => CallbackSpec | undefined;

function parseRequestParams(
  params: CallbackRequestParams,
  options: ParseCallbackOptions,
  parseValue: ParseValue,
): CallbackSpec | undefined {
  // §2.1: header and query together are an error, checked before anything else.
  if (params.header !== undefined && params.query !== undefined) {
    throw invalidArgument(
      'Either the callback query string parameter or the x-oss-callback header should be specified, not both.',
      'callback',
      params.header,
      '0007-00000027',
    );
  }
  if (params.varHeader !== undefined && params.varQuery !== undefined) {
    // FIDELITY: SPEC gives no EC for the callback-var variant; we reuse the callback one.
    throw invalidArgument(
      'Either the callback-var query string parameter or the x-oss-callback-var header should be specified, not both.',
      'callback-var',
      params.varHeader,
      '0007-00000027',
    );
  }
  const callback = params.header ?? params.query;
  const varText = params.varHeader ?? params.varQuery;
  const spec = parseCallbackValue(callback, options, parseValue);
  if (spec === undefined) return undefined;
  spec.vars = varText === undefined ? {} : parseCallbackVar(varText);
  return spec;
}

function parseFormFields(
  fields: ReadonlyMap<string, string>,
  options: ParseCallbackOptions,
  parseValue: ParseValue,
): CallbackSpec | undefined {
  const spec = parseCallbackValue(fields.get('callback'), options, parseValue);
  if (spec === undefined) return undefined;
  const whole = fields.get('callback-var');
  // FIDELITY: a `callback-var` form field is accepted; separate `x:` fields override its entries.
  const vars = whole === undefined ? {} : parseCallbackVar(whole);
  for (const [name, value] of fields) {
    // Form field names are case-insensitive in OSS; custom variables are documented lower-case.
    if (name.length > 2 && name.slice(0, 2).toLowerCase() === 'x:') vars[name] = value;
  }
  spec.vars = vars;
  return spec;
}

/** One base64 callback value, `undefined`/empty → no callback. */
function parseCallbackValue(
  value: string | undefined,
  options: ParseCallbackOptions,
  parseValue: ParseValue,
): CallbackSpec | undefined {
  // FIDELITY: an empty parameter (`x-oss-callback:` or `?callback=`) means "no callback", like an
  // empty callbackUrl (§2.2), rather than a base64 error.
  if (value === undefined || value === '') return undefined;
  return parseValue(value, options);
}

function parseCallbackValueAnew(value: string, options: ParseCallbackOptions): CallbackSpec | undefined {
  if (value.length > MAX_CALLBACK_LENGTH) {
    throw invalidArgument('The length of callback exceed max value.', 'callback', value, '0007-00000001');
  }
  const bytes = decodeBase64(value);
  if (bytes === undefined) {
    throw invalidArgument(
      'The callback configuration is not base64 encoded.',
      'callback',
      value,
      '0007-00000002',
    );
  }
  const decoded = decodeUtf8(bytes);
  const text = decoded ?? bytes.toString('latin1'); // the ArgumentValue of later errors
  const json = decoded === undefined ? undefined : parseJsonObject(decoded);
  if (json === undefined) {
    throw invalidArgument(
      'The callback configuration is not json format.',
      'callback',
      text,
      '0007-00000003',
    );
  }
  const fail = (message: string, ec: string): OssError => invalidArgument(message, 'callback', text, ec);

  // callbackUrl (§2.2): absent → 400; empty string → "no callback configured" (S2).
  const rawUrl = json['callbackUrl'];
  if (typeof rawUrl !== 'string') {
    throw invalidArgument('The callback url configuration is invalid.', 'callback', text); // no EC in §2.3
  }
  // FIDELITY: S2 says an empty callbackUrl means no callback; S8 lists it as invalid. We follow
  // S2 as SPEC §2.2 recommends: the upload proceeds without a callback.
  if (rawUrl.trim() === '') return undefined;
  const urls = parseCallbackUrls(rawUrl, fail);
  if (options.isForbiddenAddress !== undefined) {
    for (const url of urls) {
      if (options.isForbiddenAddress(url.hostname)) {
        throw fail('Private address is forbidden to callback.', '0007-00000008');
      }
    }
  }

  let host: string | undefined;
  const rawHost = json['callbackHost'];
  if (rawHost !== undefined && rawHost !== '') {
    if (typeof rawHost !== 'string' || !isValidHostHeader(rawHost)) {
      throw fail('The callback host configuration is invalid.', '0007-00000009');
    }
    host = rawHost;
  }

  const body = json['callbackBody'];
  if (body === undefined || body === '' || body === null) {
    throw fail('The callback body is empty.', '0007-00000010');
  }
  // FIDELITY: a non-string callbackBody (e.g. an object) is rejected as invalid (SPEC §2.2 [U]).
  if (typeof body !== 'string' || !isWellFormedTemplate(body)) {
    throw fail('The callback body is invalid.', '0007-00000011');
  }

  let bodyType: CallbackBodyType = FORM_TYPE;
  const rawType = json['callbackBodyType'];
  if (rawType !== undefined && rawType !== '') {
    if (rawType === FORM_TYPE || rawType === JSON_TYPE) bodyType = rawType;
    else throw fail('The callback body type configuration is invalid.', '0007-00000012');
  }

  const rawSni = json['callbackSNI'];
  if (rawSni !== undefined && typeof rawSni !== 'boolean') {
    throw fail('The callback sni is invalid.', '0007-00000014');
  }

  const spec: CallbackSpec = { urls, body, bodyType, sni: rawSni === true, vars: {} };
  if (host !== undefined) spec.host = host;
  return spec;
}

/**
 * `callbackUrl` is 1..5 URLs separated by `;` (§2.2). The count includes a trailing `;`
 * (`a;b;c;d;e;f;` is "more than 5", S8), so it is taken before empty segments are dropped.
 */
function parseCallbackUrls(raw: string, fail: (message: string, ec: string) => OssError): readonly URL[] {
  const segments = raw.split(';');
  if (segments.length > MAX_CALLBACK_URLS) {
    throw fail('The number of callback url exceed max value.', '0007-00000005');
  }
  const urls: URL[] = [];
  segments.forEach((segment, index) => {
    const trimmed = segment.trim();
    // FIDELITY: only a trailing empty segment (`a;`) is tolerated; `a;;b` is an invalid URL.
    if (trimmed === '' && index === segments.length - 1 && index > 0) return;
    const url = parseOneUrl(trimmed);
    // FIDELITY: OSS does not document the message for a bad URL or port (EC 0007-00000004).
    if (url === undefined) throw fail('The callback url configuration is invalid.', '0007-00000004');
    urls.push(url);
  });
  // Shared by every upload that sends the same parameter (parseCallbackValue keeps the spec).
  return Object.freeze(urls);
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

function parseOneUrl(text: string): URL | undefined {
  if (text === '' || /[\s\\]/.test(text)) return undefined;
  // Scheme-less values (`121.43.113.8:23456/index.html`, `www.aliyuncs.com`) mean http (S2, S10).
  const withScheme = SCHEME.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined; // e.g. `my.com:test` (bad port)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.hostname === '' || url.username !== '' || url.password !== '') return undefined;
  // IPv6 literals are not supported by OSS (S7).
  if (url.hostname.startsWith('[')) return undefined;
  // FIDELITY: single-label names (`localhost`, `my`) are accepted: local development needs them;
  // OSS rejects names it cannot resolve, which our dispatcher reports as a connect failure.
  url.hash = '';
  return url;
}

/** A Host header value: host[:port], no whitespace, control characters, `/`, `@` or userinfo. */
function isValidHostHeader(value: string): boolean {
  return /^[A-Za-z0-9._~!$&'()*+,;=%-]+(?::\d{1,5})?$/.test(value);
}

/**
 * §3.4: `$(name)` syntax is invalid (S11), and so (FIDELITY) is an unterminated `${`.
 * A `$` followed by anything else is literal text.
 */
function isWellFormedTemplate(body: string): boolean {
  for (let i = body.indexOf('$'); i !== -1; i = body.indexOf('$', i + 1)) {
    const next = body[i + 1];
    if (next === '(') return false;
    if (next === '{' && body.indexOf('}', i + 2) === -1) return false;
  }
  return true;
}

/**
 * callback-var: base64 of a JSON object whose keys are `x:name` (§2.1). Values are strings;
 * ali-oss's signatureUrl does not stringify them, so numbers and booleans are accepted as text.
 * FIDELITY: keys not starting with `x:` are ignored (they could never be referenced).
 */
function parseCallbackVar(value: string): Record<string, string> {
  if (value === '') return {};
  if (value.length > MAX_CALLBACK_VAR_LENGTH) {
    throw invalidArgument(
      'The length of callback var exceed max value.',
      'callback-var',
      value,
      '0007-00000101',
    );
  }
  const bytes = decodeBase64(value);
  const text = bytes === undefined ? undefined : decodeUtf8(bytes);
  const json = text === undefined ? undefined : parseJsonObject(text);
  // SPEC §2.3 gives no EC for this message; the typo "expecten" is OSS's.
  if (json === undefined) {
    throw invalidArgument('The callback var is not expecten json.', 'callback-var', text ?? value);
  }
  const vars: Record<string, string> = {};
  for (const [key, v] of Object.entries(json)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      if (key.startsWith('x:')) vars[key] = String(v);
    } else {
      throw invalidArgument('The callback var is not expecten json.', 'callback-var', text ?? value);
    }
  }
  return vars;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Standard, padded base64; anything else is undefined. */
function decodeBase64(value: string): Buffer | undefined {
  if (value.length % 4 !== 0 || !BASE64.test(value)) return undefined;
  return Buffer.from(value, 'base64');
}

/** Strict UTF-8 (invalid bytes are "not JSON", not "not base64"). */
function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return parsed as Record<string, unknown>;
}

function invalidArgument(
  message: string,
  argumentName: string,
  argumentValue: string,
  ec?: string,
): OssError {
  const details: Record<string, string> = { ArgumentName: argumentName, ArgumentValue: argumentValue };
  if (ec !== undefined) details['EC'] = ec;
  return ossError('InvalidArgument', { message, details });
}
