/**
 * `startThrottledProxy(target, bytesPerSecond)`: a TCP proxy on 127.0.0.1, port 0, that forwards
 * to `target` (`http://host:port`) but lets bytes through at most at `bytesPerSecond` per
 * connection, so an upload (requests) or a download (`{ replies: true }`) through it takes long
 * enough to interrupt halfway. `close()` ends every connection.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface ThrottledProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  close(): Promise<void>;
}

export async function startThrottledProxy(
  target: string,
  bytesPerSecond: number,
  options: { replies?: boolean } = {},
): Promise<ThrottledProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    const [slow, fast] = options.replies === true ? [upstream, client] : [client, upstream];
    fast.pipe(slow);
    slow.on('data', (chunk: Buffer) => {
      slow.pause();
      fast.write(chunk);
      setTimeout(() => slow.resume(), (chunk.byteLength / bytesPerSecond) * 1000);
    });
    slow.on('end', () => fast.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
