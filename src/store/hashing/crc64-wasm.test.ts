import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Crc64, crc64 } from '../../shared/crc64.ts';
import { WasmCrc64 } from './crc64-wasm.ts';

describe('WasmCrc64', () => {
  const wasm = new WasmCrc64();

  it('matches the CRC-64/XZ check value and the empty input', () => {
    expect(wasm.digest(Buffer.from('123456789'))).toBe('11051210869376104954');
    expect(BigInt(wasm.digest(Buffer.from('123456789')))).toBe(0x995dc9bbdf1939fan);
    expect(wasm.digest(new Uint8Array(0))).toBe('0');
  });

  it('agrees with the JavaScript Crc64 on every length and byte offset (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(7), (bytes, offset) => {
        const backing = new Uint8Array(bytes.length + 8);
        backing.set(bytes, offset);
        expect(wasm.digest(backing.subarray(offset, offset + bytes.length))).toBe(crc64(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('continues a register handed over from the JavaScript Crc64, across calls and memory growth', () => {
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >>> 9)) & 0xff;
    let state = new Crc64().update(data.subarray(0, 1001)).state();
    state = wasm.update(state, data.subarray(1001, 5000));
    state = wasm.update(state, data.subarray(5000)); // larger than the memory so far: it grows
    expect(Crc64.fromState(...state).digest()).toBe(crc64(data));
  });
});
