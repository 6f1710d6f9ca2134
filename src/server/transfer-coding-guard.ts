/**
 * Accepts the one request framing official OSS SDKs send that Node's HTTP parser refuses:
 * `Transfer-Encoding: chunked` together with `Content-Length` (ali-oss `put(name, stream,
 * { headers: { 'Content-Length': n } })` sends both). Node answers such a request with a bare 400
 * before upcall sees it; OSS stores it. RFC 9112 §6.3 lets a server read such a message by its
 * Transfer-Encoding, provided it closes the connection afterwards, and that is all this does.
 *
 * How: it sits in front of the http server's own 'connection' listener and reads a connection's
 * first bytes up to the end of the first request head (CRLF CRLF). An ordinary head is put back
 * (`unshift`) and the socket handed to Node untouched, so every later byte goes straight to Node's
 * native parser as before. Only a head that carries exactly one valid Content-Length and a
 * Transfer-Encoding whose final (and only) `chunked` coding is last is rewritten: Content-Length is
 * dropped and `Connection: close` forced, and Node is handed a stream that carries that one message
 * and ends its input at the last chunk, so bytes sent behind it (a smuggled request) are never parsed.
 *
 * Invariants:
 * - no other parser check is loosened: anything else (duplicated Content-Length, `chunked` not
 *   last, obs-fold, bare LF, HTTP/1.0) reaches Node byte for byte and gets Node's 400;
 * - only the first request of a connection is looked at; a rewritten one is the last on its connection;
 * - a connection that never completes its first head is dropped after the server's headersTimeout,
 *   and when the server closes, like Node's own idle connections.
 */
import type { Server } from 'node:http';
import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

type ConnectionListener = (socket: Duplex) => void;

/** Puts the guard in front of `server`'s connection handling. Call once, before `listen`. */
export function guardTransferCoding(server: Server): void {
  const nodeListeners = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  const handOff = (socket: Duplex): void => {
    for (const listener of nodeListeners) listener.call(server, socket);
  };
  const pending = new Set<Socket>();
  // Node's close() ends idle connections through closeIdleConnections(); a connection still in
  // front of the guard is idle too (Node has not seen it yet), so it is ended the same way.
  const closeIdleConnections = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => {
    for (const socket of pending) socket.destroy();
    closeIdleConnections();
  };
  // FIDELITY: OSS accepts chunked + Content-Length on any request; here only a connection's first
  // request is looked at, so one sent on a reused keep-alive connection still gets Node's 400.
  // Looking at every head would take every connection off Node's native parser.
  server.on('connection', (socket: Socket) => {
    inspectFirstHead(socket, server, pending, handOff);
  });
}

function inspectFirstHead(
  socket: Socket,
  server: Server,
  pending: Set<Socket>,
  handOff: ConnectionListener,
): void {
  // Node answers 431 past maxHeaderSize; past that the head is Node's to refuse, not ours to read.
  const limit = maxHeaderSize + 1024;
  let received: Buffer | undefined;
  pending.add(socket);
  const timer =
    server.headersTimeout > 0 ? setTimeout(() => socket.destroy(), server.headersTimeout) : undefined;
  timer?.unref();
  const stop = (): void => {
    pending.delete(socket);
    if (timer !== undefined) clearTimeout(timer);
    socket.pause();
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('error', onError);
  };
  const onClose = (): void => stop();
  // Until Node's listener has the socket, an error (a peer's reset) is ours to absorb: an
  // 'error' with no listener would crash the process.
  const onError = (): void => {
    stop();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    received = received === undefined ? chunk : Buffer.concat([received, chunk]);
    const headEnd = received.indexOf('\r\n\r\n');
    // A bare LF can never end a head Node accepts: hand it over for Node's 400 at once.
    if (headEnd === -1 && received.length < limit && !hasBareLf(received)) return;
    stop();
    const rewritten =
      headEnd === -1 ? undefined : rewriteChunkedWithLength(received.subarray(0, headEnd + 4));
    if (rewritten === undefined) {
      socket.unshift(received);
      handOff(socket);
      socket.resume();
      return;
    }
    handOff(new SingleMessageSocket(socket, rewritten, received.subarray(headEnd + 4)));
  };
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', onError);
}

function hasBareLf(bytes: Buffer): boolean {
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) {
    if (at === 0 || bytes[at - 1] !== 0x0d) return true;
  }
  return false;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [!-~]+ HTTP\/1\.1$/;

/**
 * The head (request line to CRLF CRLF, inclusive) with Content-Length removed and `Connection:
 * close` forced, when it is a well-formed HTTP/1.1 head with exactly one digits-only Content-Length
 * and a Transfer-Encoding list ending in its only `chunked`; otherwise undefined (left to Node).
 */
export function rewriteChunkedWithLength(head: Buffer): Buffer | undefined {
  const text = head.toString('latin1');
  const lines = text.slice(0, -4).split('\r\n');
  const requestLine = lines[0] ?? '';
  if (!REQUEST_LINE.test(requestLine)) return undefined;
  const kept: string[] = [requestLine];
  const codings: string[] = [];
  let contentLengths = 0;
  for (const line of lines.slice(1)) {
    if (line.includes('\n') || line.includes('\r')) return undefined;
    const colon = line.indexOf(':');
    const name = colon === -1 ? '' : line.slice(0, colon);
    // No obs-fold, no space before the colon: exactly what Node's strict parser accepts.
    if (!TOKEN.test(name)) return undefined;
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    switch (name.toLowerCase()) {
      case 'content-length':
        if (!/^[0-9]+$/.test(value)) return undefined;
        contentLengths += 1;
        break;
      case 'transfer-encoding':
        codings.push(...value.split(',').map((coding) => coding.trim().toLowerCase()));
        kept.push(line);
        break;
      case 'connection':
        break;
      default:
        kept.push(line);
    }
  }
  if (contentLengths !== 1 || codings.length === 0) return undefined;
  if (codings.includes('') || codings.indexOf('chunked') !== codings.length - 1) return undefined;
  kept.push('Connection: close');
  return Buffer.from(`${kept.join('\r\n')}\r\n\r\n`, 'latin1');
}

/**
 * What Node reads for a rewritten connection: the rewritten head, then the chunked body up to
 * and including its last chunk and trailers, and nothing after. Writes go to the socket as they are.
 * Its input never ends (Node would abort the in-flight request on end); bytes after the message
 * are read and thrown away (up to a bound), so the socket can close without resetting the reply.
 */
class SingleMessageSocket extends Duplex {
  readonly #socket: Socket;
  readonly #body = new ChunkedBodyEnd();
  #discarded = 0;

  constructor(socket: Socket, head: Buffer, rest: Buffer) {
    super();
    this.#socket = socket;
    this.push(head);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    // A peer that stops sending before the message ends will never complete it; after the end,
    // its half-close must not cut off the reply still being written.
    socket.on('end', () => {
      if (!this.#body.done) this.destroy();
    });
    socket.on('error', (error: Error) => this.destroy(error));
    socket.on('close', () => this.destroy());
    if (rest.length > 0) this.#receive(rest);
  }

  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.#socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.#socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.#socket.localPort;
  }
  setTimeout(ms: number, onTimeout?: () => void): this {
    this.#socket.setTimeout(ms, onTimeout);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.#socket.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.#socket.setKeepAlive(enable, delay);
    return this;
  }

  #receive(chunk: Buffer): void {
    if (this.#body.done) {
      this.#discarded += chunk.length;
      // Whatever follows the message is not read as a request; a peer that keeps sending is cut off.
      if (this.#discarded > 64 * 1024) this.#socket.destroy();
      return;
    }
    const end = this.#body.feed(chunk);
    const message = end === -1 ? chunk : chunk.subarray(0, end);
    if (end !== -1) this.#discarded += chunk.length - end;
    if (!this.push(message)) this.#socket.pause();
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#socket.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }
}

const enum State {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  FinalLf,
  Done,
  Invalid,
}

/** Chunk sizes beyond this are refused by Node too (llhttp keeps them in 64 bits; we stay exact). */
const MAX_CHUNK_SIZE = Number.MAX_SAFE_INTEGER;
/** Bound on a size line with its extensions and on the trailer section, as Node bounds its head. */
const MAX_LINE_BYTES = 16 * 1024;

/**
 * Finds where a chunked body ends (RFC 9112 §7.1: chunks, a zero-size last chunk, trailer lines,
 * CRLF). Strict: anything unusual marks it invalid, and then the rest of the chunk is passed on
 * whole and nothing after it, so Node's parser gives its own 400 and no later byte is ever parsed.
 */
export class ChunkedBodyEnd {
  #state = State.Size;
  #size = 0;
  #digits = 0;
  #lineBytes = 0;
  #remaining = 0;

  get done(): boolean {
    return this.#state === State.Done || this.#state === State.Invalid;
  }

  /** The index just past the message's last byte within `chunk`, or -1 if it has not ended. */
  feed(chunk: Buffer): number {
    let at = 0;
    while (at < chunk.length) {
      if (this.#state === State.Data) {
        const take = Math.min(this.#remaining, chunk.length - at);
        this.#remaining -= take;
        at += take;
        if (this.#remaining === 0) this.#state = State.DataCr;
        continue;
      }
      const byte = chunk[at] as number;
      at += 1;
      this.#step(byte);
      if (this.#state === State.Done) return at;
      if (this.#state === State.Invalid) return chunk.length;
    }
    return -1;
  }

  #step(byte: number): void {
    switch (this.#state) {
      case State.Size: {
        const digit = hexValue(byte);
        if (digit !== -1) {
          this.#size = this.#size * 16 + digit;
          this.#digits += 1;
          if (this.#size > MAX_CHUNK_SIZE) this.#state = State.Invalid;
        } else if (this.#digits === 0) this.#state = State.Invalid;
        else if (byte === 0x3b) this.#state = State.Extension;
        else if (byte === 0x0d) this.#state = State.SizeLf;
        else this.#state = State.Invalid;
        break;
      }
      case State.Extension:
        if (byte === 0x0d) this.#state = State.SizeLf;
        else if (byte === 0x0a || ++this.#lineBytes > MAX_LINE_BYTES) this.#state = State.Invalid;
        break;
      case State.SizeLf:
        if (byte !== 0x0a) this.#state = State.Invalid;
        else if (this.#size === 0) this.#state = State.TrailerStart;
        else {
          this.#remaining = this.#size;
          this.#size = 0;
          this.#digits = 0;
          this.#lineBytes = 0;
          this.#state = State.Data;
        }
        break;
      case State.DataCr:
        this.#state = byte === 0x0d ? State.DataLf : State.Invalid;
        break;
      case State.DataLf:
        this.#state = byte === 0x0a ? State.Size : State.Invalid;
        break;
      case State.TrailerStart:
        if (byte === 0x0d) this.#state = State.FinalLf;
        else this.#trailerByte(byte);
        break;
      case State.Trailer:
        if (byte === 0x0d) this.#state = State.TrailerLf;
        else this.#trailerByte(byte);
        break;
      case State.TrailerLf:
        this.#state = byte === 0x0a ? State.TrailerStart : State.Invalid;
        break;
      case State.FinalLf:
        this.#state = byte === 0x0a ? State.Done : State.Invalid;
        break;
      case State.Data:
      case State.Done:
      case State.Invalid:
        break;
    }
  }

  #trailerByte(byte: number): void {
    this.#state = byte === 0x0a || ++this.#lineBytes > MAX_LINE_BYTES ? State.Invalid : State.Trailer;
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}
