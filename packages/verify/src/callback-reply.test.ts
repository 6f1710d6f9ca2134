import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonReply, rejectionReply, statusForReason } from './callback-reply.ts';
import { CallbackVerificationError, type CallbackVerificationReason } from './callback-verification-error.ts';

// Every reason, listed once: adding one to the union without a row here fails typecheck below.
const REASONS: Record<CallbackVerificationReason, number> = {
  'method-not-allowed': 501,
  'body-too-large': 413,
  'body-unavailable': 400,
  'missing-signature': 400,
  'bad-key-url': 400,
  'key-host-not-allowed': 400,
  'key-fetch-failed': 400,
  'bad-public-key': 400,
  'signature-mismatch': 400,
};

describe('callback replies', () => {
  it('maps every refusal reason to the demo-server status', () => {
    for (const [reason, status] of Object.entries(REASONS)) {
      expect(statusForReason(reason as CallbackVerificationReason), reason).toBe(status);
    }
  });

  it('docs/receiver.md names every refusal reason', () => {
    const docs = readFileSync(new URL('../../../docs/receiver.md', import.meta.url), 'utf8');
    for (const reason of Object.keys(REASONS)) expect(docs, reason).toContain(`\`${reason}\``);
  });

  it('counts Content-Length in bytes, not characters, and never adds a BOM', () => {
    const reply = jsonReply(200, { Status: 'OK', name: '中文.jpg' });
    expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(reply.body, 'utf8')));
    expect(Number(reply.headers['content-length'])).toBeGreaterThan(reply.body.length);
    expect(reply.body.charCodeAt(0)).not.toBe(0xfeff);
    expect(JSON.parse(reply.body)).toEqual({ Status: 'OK', name: '中文.jpg' });
  });

  it('a refusal says why, as JSON', () => {
    const reply = rejectionReply(new CallbackVerificationError('signature-mismatch', 'no match'));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toEqual({
      Status: 'Failed',
      Reason: 'signature-mismatch',
      Message: 'no match',
    });
  });
});
