// A small app server for callback tests: records every callback, checks its signature with the
// storage server's public key (fetched from x-oss-pub-key-url, or given), and answers as told.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyCallbackSignature } from '../../src/callback/callback-signature.ts';

export interface ReceivedCallback {
  target: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Whether the Authorization header verified against the key. */
  verified: boolean;
  /** The decoded x-oss-pub-key-url. */
  keyUrl: string;
}

export type SinkReply = (callback: ReceivedCallback, res: ServerResponse) => void;

export interface CallbackSink {
  /** `http://127.0.0.1:<port>` */
  url: string;
  received: ReceivedCallback[];
  /** Changes how later callbacks are answered. */
  reply: SinkReply;
  close(): Promise<void>;
}

/** Default answer: 200 `{"Status":"OK", …}` echoing what was verified. */
export const okReply: SinkReply = (callback, res) => {
  const text = JSON.stringify({ Status: 'OK', verified: callback.verified, body: callback.body.toString() });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

/**
 * @param publicKey the key to verify with; when omitted the PEM is fetched from the key URL the
 *   callback names (the storage server serves it), once per URL.
 */
export async function startCallbackSink(publicKey?: KeyObject | string): Promise<CallbackSink> {
  const keys = new Map<string, KeyObject>();
  const fixed = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const keyFor = async (url: string): Promise<KeyObject> => {
    if (fixed !== undefined) return fixed;
    let key = keys.get(url);
    if (key === undefined) {
      const response = await fetch(url);
      key = createPublicKey(await response.text());
      keys.set(url, key);
    }
    return key;
  };
  const sink: CallbackSink = {
    url: '',
    received: [],
    reply: okReply,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const keyUrl = Buffer.from(String(req.headers['x-oss-pub-key-url'] ?? ''), 'base64').toString();
        let verified = false;
        try {
          const key = await keyFor(keyUrl);
          verified = verifyCallbackSignature(
            req.url ?? '/',
            body,
            String(req.headers.authorization ?? ''),
            key,
          );
        } catch {
          verified = false;
        }
        const callback: ReceivedCallback = {
          target: req.url ?? '/',
          headers: req.headers,
          body,
          verified,
          keyUrl,
        };
        sink.received.push(callback);
        sink.reply(callback, res);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.keepAliveTimeout = 1000;
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return sink;
}
