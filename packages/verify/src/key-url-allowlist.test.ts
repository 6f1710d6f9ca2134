import { describe, expect, it } from 'vitest';
import { createKeyUrlAllowlist, DEFAULT_KEY_URL_ALLOWLIST } from './key-url-allowlist.ts';

describe('key URL allowlist', () => {
  const official = createKeyUrlAllowlist(DEFAULT_KEY_URL_ALLOWLIST);

  it('allows the official key URLs over http and https', () => {
    expect(official.match('http://gosspublic.alicdn.com/callback_pub_key_v1.pem')?.href).toBe(
      'http://gosspublic.alicdn.com/callback_pub_key_v1.pem',
    );
    expect(official.match('https://gosspublic.alicdn.com/callback_pub_key_v1.pem')).toBeDefined();
  });

  it.each([
    ['userinfo trick', 'http://gosspublic.alicdn.com@evil.example/key.pem'],
    ['userinfo with password', 'http://gosspublic.alicdn.com:x@evil.example/key.pem'],
    ['look-alike host', 'http://gosspublic.alicdn.com.evil.com/key.pem'],
    ['other port', 'http://gosspublic.alicdn.com:8080/key.pem'],
    ['other scheme', 'ftp://gosspublic.alicdn.com/key.pem'],
    ['backslash trick', 'http://evil.example\\@gosspublic.alicdn.com/key.pem'],
    ['other host', 'http://127.0.0.1/key.pem'],
    ['upper-case scheme not matching the prefix string', 'HTTP://evil.example/gosspublic.alicdn.com/'],
    ['not a URL', 'gosspublic.alicdn.com/key.pem'],
    ['empty', ''],
    // Issue 14: a hosts-file gosspublic.alicdn.com pointed at upcall serves user objects too.
    ['another file on the official host', 'http://gosspublic.alicdn.com/pub/k.pem'],
  ])('refuses %s', (_name, url) => {
    expect(official.match(url)).toBeUndefined();
  });

  it('matches a local key URL exactly: no other path, port or dot-segment trick', () => {
    const local = createKeyUrlAllowlist(['http://127.0.0.1:9000/keys/callback.pem']);
    expect(local.match('http://127.0.0.1:9000/keys/callback.pem')).toBeDefined();
    expect(local.match('http://127.0.0.1:9000/keys/./callback.pem')).toBeDefined();
    expect(local.match('http://127.0.0.1:9001/keys/callback.pem')).toBeUndefined();
    expect(local.match('http://127.0.0.1:9000/keys/other.pem')).toBeUndefined();
    expect(local.match('http://127.0.0.1:9000/keys/callback.pem?x=1')).toBeUndefined();
    expect(local.match('http://127.0.0.1:9000/keys/../callback.pem')).toBeUndefined();
  });

  // Issue 14: a host-wide prefix of an upcall server trusted any public-read object as a key.
  it('reads a bare origin as its upcall key URL and nothing else under it', () => {
    for (const entry of ['http://127.0.0.1:9000', 'http://127.0.0.1:9000/']) {
      const local = createKeyUrlAllowlist([entry]);
      expect(local.match('http://127.0.0.1:9000/callback_pub_key_v1.pem')).toBeDefined();
      expect(local.match('http://127.0.0.1:9000/pub/k.pem')).toBeUndefined();
      expect(local.match('http://127.0.0.1:9000/callback_pub_key_v1.pem/x')).toBeUndefined();
      expect(local.describe).toEqual(['http://127.0.0.1:9000/callback_pub_key_v1.pem']);
    }
    expect(createKeyUrlAllowlist(['http://keys.example']).match('http://keys.example.evil.com/a.pem')).toBe(
      undefined,
    );
  });

  it('refuses prefixes, naming the exact URL to give instead', () => {
    expect(() => createKeyUrlAllowlist(['https://gosspublic.alicdn.com/keys/'])).toThrow(/prefix/);
    expect(() => createKeyUrlAllowlist(['http://127.0.0.1:9000/pub/'])).toThrow(
      /prefix.*http:\/\/127\.0\.0\.1:9000\/callback_pub_key_v1\.pem/,
    );
  });

  it('rejects allowlist entries that are not plain http(s) prefixes', () => {
    expect(() => createKeyUrlAllowlist(['file:///etc/'])).toThrow(TypeError);
    expect(() => createKeyUrlAllowlist(['http://u:p@host/'])).toThrow(TypeError);
    expect(() => createKeyUrlAllowlist(['nope'])).toThrow(TypeError);
  });
});
