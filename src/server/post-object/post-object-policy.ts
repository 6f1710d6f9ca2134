/**
 * The PostObject policy (OSS "Appendix: Post Policy"): the base64 JSON document a signed form
 * carries, `{"expiration": ISO-8601, "conditions": [...]}`, and its enforcement against the form.
 *
 * Condition forms: `{"field": "value"}` (exact match), `["eq", "$field", "value"]`,
 * `["starts-with", "$field", "prefix"]`, `["in", "$field", [...]]`, `["not-in", "$field", [...]]`
 * and `["content-length-range", min, max]`. Field names are case-insensitive, values are not;
 * `$bucket` is the bucket the form is posted to, every other field is the form field of that name
 * (missing = empty). `$key` is the key field as sent, before `${filename}` substitution (what the
 * browser-side policy was written against).
 *
 * Errors as OSS words them: a document that cannot be read is InvalidPolicyDocument; an expired
 * policy or a failed condition is AccessDenied "Invalid according to Policy: …" naming the
 * condition; content-length-range is enforced on the file as it streams (EntityTooLarge/Small).
 * Pure: no I/O, the clock is passed in.
 */
import { ossError } from '../../shared/oss-error.ts';

export type PolicyCondition =
  | { op: 'eq' | 'starts-with'; field: string; value: string; text: string }
  | { op: 'in' | 'not-in'; field: string; values: string[]; text: string }
  | { op: 'content-length-range'; min: number; max: number; text: string };

export interface PostPolicy {
  expiration: Date;
  conditions: PolicyCondition[];
}

/** Largest policy accepted (the form limits cap it too). */
const MAX_POLICY_BYTES = 64 * 1024;

function invalid(reason: string) {
  return ossError('InvalidPolicyDocument', { message: `Invalid Policy: ${reason}` });
}

/** Decodes and validates the policy's shape. @throws InvalidPolicyDocument */
export function parsePostPolicy(policyBase64: string): PostPolicy {
  const trimmed = policyBase64.trim();
  if (trimmed.length > MAX_POLICY_BYTES || !/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed === '') {
    throw invalid('Invalid Base64 Encoding.');
  }
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(trimmed, 'base64').toString('utf8'));
  } catch {
    throw invalid('Invalid JSON.');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw invalid('Invalid JSON.');
  }
  const { expiration, conditions } = document as { expiration?: unknown; conditions?: unknown };
  // FIDELITY: OSS documents these cases (EC 0006-00000207/208/209/214) without their messages.
  if (expiration === undefined) throw invalid('Policy missing expiration.');
  if (conditions === undefined) throw invalid('Policy missing conditions.');
  if (typeof expiration !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(expiration)) {
    throw invalid('Invalid expiration, must be ISO 8601 in GMT.');
  }
  const expires = new Date(expiration);
  if (Number.isNaN(expires.getTime())) throw invalid('Invalid expiration, must be ISO 8601 in GMT.');
  if (!Array.isArray(conditions)) throw invalid('Invalid conditions, must be a list.');
  return { expiration: expires, conditions: conditions.map(parseCondition) };
}

function parseCondition(raw: unknown): PolicyCondition {
  if (Array.isArray(raw)) return parseListCondition(raw);
  if (typeof raw === 'object' && raw !== null) {
    const entries: [string, unknown][] = Object.entries(raw as Record<string, unknown>);
    const [entry] = entries;
    if (entries.length !== 1 || entry === undefined) {
      throw invalid('Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.');
    }
    const [name, value] = entry;
    if (typeof value !== 'string')
      throw invalid(`Invalid Simple-Condition: value of ${name} must be a string.`);
    return { op: 'eq', field: name.toLowerCase(), value, text: JSON.stringify(raw) };
  }
  throw invalid('Invalid Condition: a condition must be a map or a list.');
}

function parseListCondition(raw: unknown[]): PolicyCondition {
  const text = `[${raw.map((part) => JSON.stringify(part)).join(', ')}]`;
  const [op, first, second] = raw;
  if (typeof op !== 'string') throw invalid(`Invalid Condition: ${text}`);
  const operator = op.toLowerCase();
  if (operator === 'content-length-range') {
    const min = integer(first);
    const max = integer(second);
    if (raw.length !== 3 || min === undefined || max === undefined || min > max) {
      throw invalid(`Invalid content-length-range: ${text}`);
    }
    return { op: 'content-length-range', min, max, text };
  }
  if (raw.length !== 3 || typeof first !== 'string') throw invalid(`Invalid Condition: ${text}`);
  const field = (first.startsWith('$') ? first.slice(1) : first).toLowerCase();
  switch (operator) {
    case 'eq':
    case 'starts-with':
      if (typeof second !== 'string') throw invalid(`Invalid Condition: ${text}`);
      return { op: operator, field, value: second, text };
    case 'in':
    case 'not-in':
      if (!Array.isArray(second) || !second.every((v) => typeof v === 'string')) {
        throw invalid(`Invalid Condition: ${text}`);
      }
      return { op: operator, field, values: second, text };
    default:
      throw invalid(`Invalid Condition: unknown operator in ${text}`);
  }
}

function integer(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= 0 ? number : undefined;
}

export interface PolicyFormValues {
  /** Form fields by lower-case name, as post-object-form.ts collects them. */
  fields: ReadonlyMap<string, string>;
  /** The bucket the form is posted to. */
  bucket: string;
}

/**
 * Checks the expiration and every field condition. Returns the content-length-range to enforce on
 * the file (the narrowest, when several are given).
 * @throws AccessDenied (expired, a condition failed)
 */
export function checkPostPolicy(
  policy: PostPolicy,
  form: PolicyFormValues,
  now: Date,
): { contentLength?: { min: number; max: number } } {
  if (now.getTime() > policy.expiration.getTime()) {
    throw ossError('AccessDenied', { message: 'Invalid according to Policy: Policy expired.' });
  }
  let contentLength: { min: number; max: number } | undefined;
  for (const condition of policy.conditions) {
    if (condition.op === 'content-length-range') {
      contentLength = {
        min: Math.max(contentLength?.min ?? 0, condition.min),
        max: Math.min(contentLength?.max ?? Number.MAX_SAFE_INTEGER, condition.max),
      };
      continue;
    }
    // FIDELITY: `$key` is the key field as sent, before `${filename}` substitution, and only the
    // fields a condition names are checked (a callback or `x:` field the policy omits passes).
    const actual = condition.field === 'bucket' ? form.bucket : (form.fields.get(condition.field) ?? '');
    if (!holds(condition, actual)) {
      throw ossError('AccessDenied', {
        message: `Invalid according to Policy: Policy Condition failed: ${condition.text}`,
      });
    }
  }
  return contentLength === undefined ? {} : { contentLength };
}

function holds(condition: Exclude<PolicyCondition, { op: 'content-length-range' }>, actual: string): boolean {
  switch (condition.op) {
    case 'eq':
      return actual === condition.value;
    case 'starts-with':
      return actual.startsWith(condition.value);
    case 'in':
      return condition.values.includes(actual);
    case 'not-in':
      return !condition.values.includes(actual);
  }
}
