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
  ])('refuses %s', (_name, url) => {
    expect(official.match(url)).toBeUndefined();
  });

  it('matches a local dev prefix by host, port and path prefix', () => {
    const local = createKeyUrlAllowlist(['http://127.0.0.1:9000/keys/']);
    expect(local.match('http://127.0.0.1:9000/keys/callback.pem')).toBeDefined();
    expect(local.match('http://127.0.0.1:9001/keys/callback.pem')).toBeUndefined();
    expect(local.match('http://127.0.0.1:9000/other/callback.pem')).toBeUndefined();
    expect(local.match('http://127.0.0.1:9000/keys/../admin')).toBeUndefined();
  });

  it('treats a prefix without a trailing slash as ending at the host', () => {
    const local = createKeyUrlAllowlist(['http://keys.example']);
    expect(local.match('http://keys.example/a.pem')).toBeDefined();
    expect(local.match('http://keys.example.evil.com/a.pem')).toBeUndefined();
  });

  it('rejects allowlist entries that are not plain http(s) prefixes', () => {
    expect(() => createKeyUrlAllowlist(['file:///etc/'])).toThrow(TypeError);
    expect(() => createKeyUrlAllowlist(['http://u:p@host/'])).toThrow(TypeError);
    expect(() => createKeyUrlAllowlist(['nope'])).toThrow(TypeError);
  });
});
