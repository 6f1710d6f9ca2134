// The one line every benchmark server child prints once it listens, so the harness learns its
// port without guessing one (port 0 everywhere, as in the tests).
/** @param {import('node:net').AddressInfo | string | null} address */
export function announceReady(address) {
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  process.stdout.write(`READY ${JSON.stringify({ port: address.port, pid: process.pid })}\n`);
}

/** @param {string[]} argv @param {string} name */
export function option(argv, name) {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? undefined : argv[i + 1];
}
