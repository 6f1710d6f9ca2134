/**
 * Real OSS refuses callback URLs that resolve to private or loopback addresses (SPEC.md §2.3,
 * EC 0007-00000008). upcall exists for local development, so the check is a switch, off by
 * default (DESIGN.md); when on, it runs before the object is stored and again on every connect
 * (a `lookup` that filters), so a name that re-resolves to a private address is still refused.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { promisify } from 'node:util';
import type { CallbackSpec } from '../callback/parse-callback.ts';
import { ossError, type OssError } from '../shared/oss-error.ts';

const lookupAll = promisify(dnsLookup);

/** Loopback, RFC 1918, link-local, CGNAT, "this network", unique-local and mapped forms. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
  PRIVATE.addSubnet(`::ffff:${net}`, 96 + prefix, 'ipv6');
}
PRIVATE.addAddress('::', 'ipv6');
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('fe80::', 10, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Resolves every callback URL host and refuses the callback when any resolves to a private
 * address. Call before storing the object.
 * @throws OssError InvalidArgument (400) `Private address is forbidden to callback.` (0007-00000008),
 *   or `Can not get ip by this host.` (0007-00000007, [U] in SPEC §2.3) when a host does not resolve
 */
export async function assertPublicCallbackAddresses(spec: CallbackSpec, callback: string): Promise<void> {
  for (const url of spec.urls) {
    const addresses = await resolve(url.hostname);
    if (addresses === undefined) {
      // FIDELITY: SPEC §2.3 [U] gives this message for a name that does not resolve; OSS's EC is a guess.
      throw invalid('Can not get ip by this host.', callback, '0007-00000007');
    }
    if (addresses.some(isPrivateAddress)) {
      throw invalid('Private address is forbidden to callback.', callback, '0007-00000008');
    }
  }
}

async function resolve(hostname: string): Promise<string[] | undefined> {
  if (isIP(hostname) !== 0) return [hostname];
  try {
    const results: LookupAddress[] = await lookupAll(hostname, { all: true });
    return results.map((r) => r.address);
  } catch {
    return undefined;
  }
}

/** A `net.connect` lookup that fails with EACCES-like error on private addresses. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) {
      callback(error, '', 0);
      return;
    }
    const list = addresses;
    const allowed = list.filter((a) => !isPrivateAddress(a.address));
    if (allowed.length !== list.length || allowed.length === 0) {
      const refused = Object.assign(new Error('Private address is forbidden to callback.'), {
        code: 'EPRIVATEADDRESS',
      });
      callback(refused, '', 0);
      return;
    }
    if (options.all === true) callback(null, allowed);
    else callback(null, allowed[0]!.address, allowed[0]!.family);
  });
};

function invalid(message: string, callback: string, ec: string): OssError {
  return ossError('InvalidArgument', {
    message,
    details: { ArgumentName: 'callback', ArgumentValue: callback, EC: ec },
  });
}
