/**
 * Bucket CORS as OSS does it (PutBucketCors, GetBucketCors, DeleteBucketCors, Options): the
 * `CORSConfiguration` document read and written, and the rule matching that answers preflights
 * and adds CORS headers to actual requests.
 *
 * Matching (OSS "Options"): the first rule whose AllowedOrigin matches the request's Origin, whose
 * AllowedMethod holds the method (the preflight's Access-Control-Request-Method) and, for a
 * preflight, whose AllowedHeader patterns cover every header in Access-Control-Request-Headers.
 * `*` in an origin or header pattern matches any run of characters; header names compare without
 * case. Without a match no CORS header is sent, so the browser refuses the response.
 */
import { ossError } from '../shared/oss-error.ts';
import { childElements, childText, el, renderXml, singleElement, type XmlObject } from '../shared/xml.ts';
import type { BucketCors, CorsRule } from '../store/object-store.ts';
import { invalidArgument, parseBucketConfiguration } from './bucket-configuration-document.ts';
import type { HeaderValue } from './pipeline/request-context.ts';

/** OSS: at most 20 CORS rules per bucket. */
export const MAX_CORS_RULES = 20;
/** What a CORSRule may allow: OSS's list for AllowedMethod. */
const CORS_METHODS: ReadonlySet<string> = new Set(['GET', 'PUT', 'DELETE', 'POST', 'HEAD']);
/** A CORS configuration of 20 full rules fits easily in 64 KiB. */
export const MAX_CORS_BODY_BYTES = 64 * 1024;

/**
 * Parses a PutBucketCors body.
 * @throws MalformedXML (not a CORSConfiguration, a rule without AllowedOrigin or AllowedMethod, a
 *   MaxAgeSeconds or ResponseVary that is not one) | InvalidArgument (more than 20 rules, an
 *   unknown method, two `*` in one origin or header)
 */
export function parseCorsConfiguration(text: string): BucketCors {
  const root = parseBucketConfiguration(text, { root: 'CORSConfiguration', maxBytes: MAX_CORS_BODY_BYTES });
  const ruleElements = childElements(root, 'CORSRule');
  if (ruleElements.length > MAX_CORS_RULES) {
    // FIDELITY: OSS documents the limit of 20 rules, not the error; InvalidArgument names it.
    invalidArgument(
      'CORSRule',
      String(ruleElements.length),
      `A bucket has at most ${String(MAX_CORS_RULES)} CORS rules.`,
    );
  }
  const rules = ruleElements.map((value) => parseRule(singleElement(value)));
  const vary = childText(root, 'ResponseVary');
  if (vary !== undefined && vary !== 'true' && vary !== 'false') throw ossError('MalformedXML');
  return { rules, responseVary: vary === 'true' };
}

function parseRule(rule: XmlObject): CorsRule {
  const texts = (name: string): string[] =>
    childElements(rule, name).map((value) => {
      if (typeof value !== 'string') throw ossError('MalformedXML');
      return value.trim();
    });
  const allowedOrigins = texts('AllowedOrigin');
  const allowedMethods = texts('AllowedMethod');
  // FIDELITY: a rule without an origin or a method is refused as MalformedXML (OSS requires both).
  if (allowedOrigins.length === 0 || allowedMethods.length === 0) throw ossError('MalformedXML');
  // FIDELITY: OSS's exact wording for these InvalidArgument messages is not documented.
  for (const method of allowedMethods) {
    if (!CORS_METHODS.has(method))
      invalidArgument('AllowedMethod', method, 'The AllowedMethod is not supported.');
  }
  const allowedHeaders = texts('AllowedHeader');
  for (const origin of allowedOrigins) oneWildcard('AllowedOrigin', origin);
  for (const header of allowedHeaders) oneWildcard('AllowedHeader', header);
  const maxAge = childText(rule, 'MaxAgeSeconds');
  let maxAgeSeconds: number | undefined;
  if (maxAge !== undefined) {
    if (!/^\d{1,9}$/.test(maxAge.trim())) throw ossError('MalformedXML');
    maxAgeSeconds = Number(maxAge.trim());
  }
  return {
    allowedOrigins,
    allowedMethods,
    allowedHeaders,
    exposeHeaders: texts('ExposeHeader'),
    ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
  };
}

/** OSS: each AllowedOrigin and AllowedHeader may hold one `*` at most. */
function oneWildcard(name: string, value: string): void {
  if (value.indexOf('*') !== value.lastIndexOf('*')) {
    invalidArgument(name, value, `${name} can contain at most one * wildcard.`);
  }
}

/** GetBucketCors's document, rules in the order they were put. */
export function corsConfigurationResult(cors: BucketCors): string {
  return renderXml(
    el(
      'CORSConfiguration',
      ...cors.rules.map((rule) =>
        el(
          'CORSRule',
          ...rule.allowedOrigins.map((origin) => el('AllowedOrigin', origin)),
          ...rule.allowedMethods.map((method) => el('AllowedMethod', method)),
          ...rule.allowedHeaders.map((header) => el('AllowedHeader', header)),
          ...rule.exposeHeaders.map((header) => el('ExposeHeader', header)),
          rule.maxAgeSeconds === undefined ? undefined : el('MaxAgeSeconds', rule.maxAgeSeconds),
        ),
      ),
      el('ResponseVary', cors.responseVary ? 'true' : 'false'),
    ),
  );
}

/** `*` matches any run of characters; everything else literally. */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*');
  if (star === -1) return pattern === value;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

export interface CorsQuery {
  origin: string;
  /** The actual request's method, or a preflight's Access-Control-Request-Method. */
  method: string;
  /** Lower-case header names a preflight asks for (empty for an actual request). */
  headers: readonly string[];
}

/** The first rule that allows `query`, or undefined. */
export function matchCorsRule(cors: BucketCors | undefined, query: CorsQuery): CorsRule | undefined {
  return cors?.rules.find(
    (rule) =>
      rule.allowedOrigins.some((pattern) => wildcardMatch(pattern, query.origin)) &&
      rule.allowedMethods.includes(query.method) &&
      query.headers.every((header) =>
        rule.allowedHeaders.some((pattern) => wildcardMatch(pattern.toLowerCase(), header)),
      ),
  );
}

/**
 * The CORS headers a matching rule gives a response. FIDELITY: Access-Control-Allow-Origin
 * echoes the request's Origin even when the rule says `*` (what a page sending credentials needs).
 */
export function corsHeaders(rule: CorsRule, origin: string, vary: boolean): Record<string, HeaderValue> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': rule.allowedMethods.join(', '),
    ...(rule.exposeHeaders.length === 0
      ? {}
      : { 'Access-Control-Expose-Headers': rule.exposeHeaders.join(', ') }),
    ...(rule.maxAgeSeconds === undefined ? {} : { 'Access-Control-Max-Age': rule.maxAgeSeconds }),
    ...(vary ? { Vary: 'Origin' } : {}),
  };
}

/** `Access-Control-Request-Headers` as lower-case names. */
export function requestedHeaders(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
}
