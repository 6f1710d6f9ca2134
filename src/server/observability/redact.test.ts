import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact.ts';

describe('redactUrl', () => {
  it('keeps scheme, host, port, path and parameter names; drops passwords and every query value', () => {
    expect(redactUrl('https://user:pa55@app.example:8443/cb/x?token=abc&token=def&v=1')).toBe(
      'https://app.example:8443/cb/x?token=[REDACTED]&v=[REDACTED]',
    );
    expect(redactUrl(new URL('http://127.0.0.1:9/callback'))).toBe('http://127.0.0.1:9/callback');
  });

  it('never echoes what it cannot parse', () => {
    expect(redactUrl('not a url secret=1')).toBe('[REDACTED]');
    expect(redactUrl(undefined)).toBeUndefined();
  });
});
