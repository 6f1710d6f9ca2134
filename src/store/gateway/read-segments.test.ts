// readSegments hands the server a body only once its first bytes are in: the server writes the
// response headers with the first chunk, so an engine that answers its headers and then fails
// before any data must fail the read itself (503 to the client), not the body after the status
// line was promised (the client would see the connection close with nothing: "socket hang up").
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store.ts';
import { readSegments } from './segment-writer.ts';

/** An engine whose GETs answer, then give `body` (the part of BlobStore readSegments uses). */
function engine(body: () => Readable): BlobStore {
  return { get: () => Promise.resolve(body()) } as unknown as BlobStore;
}

describe('readSegments', () => {
  it('rejects with ServiceUnavailable when the engine fails before the first byte', async () => {
    let released = false;
    const failing = (): Readable => {
      const stream = new Readable({
        read() {
          this.destroy(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
        },
      });
      stream.once('close', () => (released = true));
      return stream;
    };
    await expect(
      readSegments(engine(failing), [{ key: 'b', size: 4 }], { start: 0, end: 3 }),
    ).rejects.toMatchObject({
      code: 'ServiceUnavailable',
      status: 503,
    });
    expect(released).toBe(true);
  });

  it('gives every byte, the first chunk included, across segments', async () => {
    const bodies: Record<string, string> = { a: 'abcd', b: 'efgh' };
    const blobs = {
      get: (key: string) =>
        Promise.resolve(
          Readable.from([Buffer.from(bodies[key]!.slice(0, 2)), Buffer.from(bodies[key]!.slice(2))]),
        ),
    } as unknown as BlobStore;
    const body = await readSegments(
      blobs,
      [
        { key: 'a', size: 4 },
        { key: 'b', size: 4 },
      ],
      { start: 0, end: 7 },
    );
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('abcdefgh');
  });
});
