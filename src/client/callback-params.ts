/**
 * Builds the callback parameters a client attaches to an upload (SPEC.md §2.1, §2.2, §8.1):
 * `x-oss-callback` = base64(JSON) and `x-oss-callback-var` = base64(JSON of `x:` variables).
 *
 * The JSON follows ali-oss's `encodeCallback` key order (callbackUrl, callbackBody, callbackHost,
 * callbackBodyType, callbackSNI) so captures from our CLI and from ali-oss look alike. Unlike
 * ali-oss we do not `encodeURI` the URL: that turns an already-encoded `%2F` into `%252F`
 * (SPEC.md §8.1); callers pass URLs that are already percent-encoded, as §2.2 requires.
 * Invariant: the output parses with `callback/parse-callback.ts` into the same URL list, body,
 * body type, host and variables that went in (tested in callback-params.test.ts).
 */
import type { CallbackBodyType } from '../callback/parse-callback.ts';

export interface CallbackParamsInput {
  /** One URL, or up to five tried in order (joined with `;`, §2.2). */
  url: string | readonly string[];
  /** The callbackBody template, e.g. `bucket=${bucket}&object=${object}&size=${size}`. */
  body: string;
  /** Defaults to form encoding on the server when omitted (§2.2). */
  bodyType?: CallbackBodyType | undefined;
  /** `callbackHost`: the Host header OSS sends to the app server. */
  host?: string | undefined;
  /** `callbackSNI`; emitted only when true, as ali-oss and the Java SDK do (§8.1, §9). */
  sni?: boolean | undefined;
  /** Custom variables; names may be given with or without their `x:` prefix. */
  vars?: Readonly<Record<string, string | number | boolean>> | undefined;
}

export interface CallbackParams {
  /** base64 callback JSON: the `x-oss-callback` header, `callback` query or form field. */
  callback: string;
  /** base64 callback-var JSON, when there are variables. */
  callbackVar?: string;
  /** Custom variables keyed by full name (`x:device`), for PostObject form fields (§7.2). */
  vars: Record<string, string>;
}

/** The pieces in every form the three transports of §2.1 need. */
export function buildCallbackParams(input: CallbackParamsInput): CallbackParams {
  const url = typeof input.url === 'string' ? input.url : input.url.join(';');
  const json: Record<string, string | boolean> = { callbackUrl: url, callbackBody: input.body };
  if (input.host) json.callbackHost = input.host;
  if (input.bodyType) json.callbackBodyType = input.bodyType;
  if (input.sni === true) json.callbackSNI = true;

  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.vars ?? {})) {
    vars[name.startsWith('x:') ? name : `x:${name}`] = String(value);
  }
  const params: CallbackParams = { callback: toBase64Json(json), vars };
  if (Object.keys(vars).length > 0) params.callbackVar = toBase64Json(vars);
  return params;
}

/** The request headers for PutObject / CompleteMultipartUpload (§2.1). */
export function callbackHeaders(params: CallbackParams): Record<string, string> {
  const headers: Record<string, string> = { 'x-oss-callback': params.callback };
  if (params.callbackVar !== undefined) headers['x-oss-callback-var'] = params.callbackVar;
  return headers;
}

function toBase64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

/**
 * Parses the `k=v` pairs of the CLI's repeatable `--var` option. The first `=` splits, so values
 * may contain `=`; a pair without `=` is an empty value.
 */
export function parseVarPairs(pairs: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const name = at === -1 ? pair : pair.slice(0, at);
    vars[name] = at === -1 ? '' : pair.slice(at + 1);
  }
  return vars;
}
