/**
 * Worker-thread entry of the CRC-64 pool (crc64-pool.ts): continues the CRC of large upload bodies
 * off the main thread, so it runs in parallel with the MD5 and the file write there.
 *
 * Invariant: one job per upload, keyed by id; a job's data messages arrive in body order (one
 * MessagePort is FIFO) and each is acknowledged once hashed, its buffer handed back with the ack:
 * the acks bound the bytes in flight on the main side, and the returned buffers are reused there.
 * A dropped job (abort, error) is forgotten; messages for unknown ids are ignored, since a drop
 * can overtake nothing but may follow data already queued.
 */
import { parentPort } from 'node:worker_threads';
import { Crc64 } from '../../shared/crc64.ts';
import { WasmCrc64 } from './crc64-wasm.ts';

/** Main thread → worker. `start` carries the register of the part hashed inline so far. */
export type ToCrc64Worker =
  | { op: 'start'; id: number; lo: number; hi: number }
  | { op: 'data'; id: number; data: Uint8Array }
  | { op: 'end'; id: number }
  | { op: 'drop'; id: number };

/** Worker → main thread. */
export type FromCrc64Worker =
  | { op: 'ready' }
  | { op: 'ack'; id: number; bytes: number; buffer: ArrayBuffer }
  | { op: 'done'; id: number; lo: number; hi: number };

/** The WebAssembly engine (about 1.75x the JavaScript one here), or JavaScript where it cannot load. */
function engine(): (state: [lo: number, hi: number], data: Uint8Array) => [lo: number, hi: number] {
  try {
    const wasm = new WasmCrc64();
    return (state, data) => wasm.update(state, data);
  } catch {
    return (state, data) =>
      Crc64.fromState(...state)
        .update(data)
        .state();
  }
}

const port = parentPort;
if (port) {
  const update = engine();
  /** Each job's register, as `Crc64.state()` halves. */
  const jobs = new Map<number, [lo: number, hi: number]>();
  const reply = (message: FromCrc64Worker, transfer?: ArrayBuffer[]): void =>
    port.postMessage(message, transfer);
  port.on('message', (message: ToCrc64Worker) => {
    switch (message.op) {
      case 'start':
        jobs.set(message.id, Crc64.fromState(message.lo, message.hi).state());
        break;
      case 'data': {
        const state = jobs.get(message.id);
        if (state) jobs.set(message.id, update(state, message.data));
        // The batch goes back to be filled again (acknowledged even for a dropped job): garbage
        // left here would be freed only by this thread's rare GCs, and a 2 GiB PUT would leave
        // well over 100 MB of it behind.
        const buffer = message.data.buffer as ArrayBuffer;
        reply({ op: 'ack', id: message.id, bytes: message.data.length, buffer }, [buffer]);
        break;
      }
      case 'end': {
        const state = jobs.get(message.id);
        if (!state) break;
        jobs.delete(message.id);
        reply({ op: 'done', id: message.id, lo: state[0], hi: state[1] });
        break;
      }
      case 'drop':
        jobs.delete(message.id);
        break;
    }
  });
  reply({ op: 'ready' });
}
