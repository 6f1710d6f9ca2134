import { describe, expect, it } from 'vitest';
import { checkPostPolicy, parsePostPolicy } from './post-object-policy.ts';

const encode = (document: unknown): string => Buffer.from(JSON.stringify(document)).toString('base64');
const NOW = new Date('2026-01-01T00:00:00Z');
const LATER = '2026-01-01T01:00:00.000Z';

function check(conditions: unknown[], fields: Record<string, string>, bucket = 'b') {
  const policy = parsePostPolicy(encode({ expiration: LATER, conditions }));
  return checkPostPolicy(policy, { fields: new Map(Object.entries(fields)), bucket }, NOW);
}

describe('parsePostPolicy', () => {
  it('reads expiration and every condition form', () => {
    const policy = parsePostPolicy(
      encode({
        expiration: LATER,
        conditions: [
          { Bucket: 'b' },
          ['eq', '$Key', 'k'],
          ['starts-with', 'content-type', 'image/'],
          ['in', '$x-oss-meta-a', ['1', '2']],
          ['not-in', '$cache-control', ['no-cache']],
          ['content-length-range', '1', 10],
        ],
      }),
    );
    expect(policy.expiration.toISOString()).toBe(LATER);
    expect(policy.conditions.map((c) => [c.op, 'field' in c ? c.field : ''])).toEqual([
      ['eq', 'bucket'],
      ['eq', 'key'],
      ['starts-with', 'content-type'],
      ['in', 'x-oss-meta-a'],
      ['not-in', 'cache-control'],
      ['content-length-range', ''],
    ]);
  });

  it.each([
    ['not base64', '***'],
    ['empty', ''],
    ['not JSON', Buffer.from('{').toString('base64')],
    ['a JSON list', encode([])],
    ['no expiration', encode({ conditions: [] })],
    ['no conditions', encode({ expiration: LATER })],
    ['expiration not ISO GMT', encode({ expiration: '2026-01-01 01:00', conditions: [] })],
    ['conditions not a list', encode({ expiration: LATER, conditions: 123 })],
    ['a number condition', encode({ expiration: LATER, conditions: [123] })],
    ['a condition without operator', encode({ expiration: LATER, conditions: [['$key']] })],
    ['an extra argument', encode({ expiration: LATER, conditions: [['starts-with', '$key', 'a', 'b']] })],
    ['an unknown operator', encode({ expiration: LATER, conditions: [['regex', '$key', 'a']] })],
    ['in with a string', encode({ expiration: LATER, conditions: [['in', '$key', 'a']] })],
    ['range min > max', encode({ expiration: LATER, conditions: [['content-length-range', 5, 1]] })],
    ['negative range', encode({ expiration: LATER, conditions: [['content-length-range', -1, 1]] })],
    ['two-property map', encode({ expiration: LATER, conditions: [{ key: 'a', bucket: 'b' }] })],
  ])('refuses %s as InvalidPolicyDocument', (_name, text) => {
    expect(() => parsePostPolicy(text)).toThrow(expect.objectContaining({ code: 'InvalidPolicyDocument' }));
  });
});

describe('checkPostPolicy', () => {
  it('passes when every condition holds and returns the narrowest content-length-range', () => {
    const result = check(
      [
        { bucket: 'b' },
        ['eq', '$key', 'user/a'],
        ['starts-with', '$key', 'user/'],
        ['starts-with', '$content-type', ''],
        ['in', '$content-type', ['image/png']],
        ['not-in', '$cache-control', ['no-cache']],
        ['content-length-range', 0, 100],
        ['content-length-range', 5, 1000],
      ],
      { key: 'user/a', 'content-type': 'image/png' },
    );
    expect(result).toEqual({ contentLength: { min: 5, max: 100 } });
  });

  it('returns no range when the policy has none', () => {
    expect(check([], {})).toEqual({});
  });

  it.each([
    [{ bucket: 'other' }, {}, '{"bucket":"other"}'],
    [['eq', '$key', 'a'], { key: 'b' }, '["eq", "$key", "a"]'],
    [['starts-with', '$key', 'user/'], { key: 'admin/x' }, '["starts-with", "$key", "user/"]'],
    [
      ['in', '$content-type', ['image/png']],
      { 'content-type': 'IMAGE/PNG' },
      '["in", "$content-type", ["image/png"]]',
    ],
    [
      ['not-in', '$cache-control', ['no-cache']],
      { 'cache-control': 'no-cache' },
      '["not-in", "$cache-control", ["no-cache"]]',
    ],
    [['eq', '$x-oss-meta-a', '1'], {}, '["eq", "$x-oss-meta-a", "1"]'],
  ])('refuses %j with AccessDenied naming the condition', (condition, fields, text) => {
    expect(() => check([condition], fields)).toThrow(
      expect.objectContaining({
        code: 'AccessDenied',
        message: `Invalid according to Policy: Policy Condition failed: ${text}`,
      }),
    );
  });

  it('refuses an expired policy', () => {
    const policy = parsePostPolicy(encode({ expiration: '2025-12-31T23:59:59Z', conditions: [] }));
    expect(() => checkPostPolicy(policy, { fields: new Map(), bucket: 'b' }, NOW)).toThrow(
      expect.objectContaining({
        code: 'AccessDenied',
        message: 'Invalid according to Policy: Policy expired.',
      }),
    );
  });
});
