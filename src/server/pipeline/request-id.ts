/**
 * Request ids in the OSS shape: 24 upper-case hex characters whose first 8 are the Unix time in
 * seconds (as real ids such as `5CF3E7821AB22D0FDB86704D` are). The rest is a per-process random
 * prefix plus a counter, so ids are unique without calling the CSPRNG on the hot path.
 */
import { randomBytes } from 'node:crypto';

const processPart = randomBytes(4).toString('hex').toUpperCase();
let counter = 0;

export function nextRequestId(nowMs: number): string {
  counter = (counter + 1) >>> 0;
  const seconds = Math.floor(nowMs / 1000) >>> 0;
  return (
    seconds.toString(16).toUpperCase().padStart(8, '0') +
    processPart +
    counter.toString(16).toUpperCase().padStart(8, '0')
  );
}
