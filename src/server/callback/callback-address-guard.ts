/**
 * Real OSS refuses callback URLs that resolve to private or loopback addresses (SPEC.md §2.3,
 * EC 0007-00000008). upcall exists for local development, so the check is a switch, off by
 * default (DESIGN.md); when on, it runs before the object is stored and again on every connect.
 *
 * Forbidden: every address that is not globally reachable (loopback, RFC 1918, link-local, CGNAT,
 * documentation and benchmarking nets, multicast, reserved 240/4, unique-local, …), the same
 * addresses embedded in IPv6 forms that reach them (mapped, compatible, NAT64, 6to4), and the host's
 * own interface addresses, whatever their range: a callback to one of those reaches this machine's
 * services, which is what the check is for (issue 14).
 *
 * Invariant: a connection is only ever made to an address that was checked. The connect step
 * resolves the name once, checks every address, and hands exactly those addresses to the socket
 * (`pinnedLookup`); nothing resolves the name again between the check and the connect, so a DNS
 * answer that changes between two look-ups (rebinding) cannot slip a private address through.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { networkInterfaces } from 'node:os';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { CallbackSpec } from '../../callback/parse-callback.ts';
import { ossError, type OssError } from '../../shared/oss-error.ts';

/** Every address of a host name (dns.lookup with `all: true` is the default). */
export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

/** IPv4 nets that are not globally reachable (IANA special-purpose registry, RFC 6890). */
const IPV4_NOT_GLOBAL: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255
];

const FORBIDDEN = new BlockList();
for (const [net, prefix] of IPV4_NOT_GLOBAL) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv4');
  // The same nets reached through IPv6: mapped, compatible (deprecated), NAT64 well-known prefix,
  // and 6to4 (the IPv4 address in bits 16..47).
  FORBIDDEN.addSubnet(`::ffff:${net}`, 96 + prefix, 'ipv6');
  FORBIDDEN.addSubnet(`::${net}`, 96 + prefix, 'ipv6');
  FORBIDDEN.addSubnet(`64:ff9b::${net}`, 96 + prefix, 'ipv6');
  FORBIDDEN.addSubnet(sixToFour(net), 16 + prefix, 'ipv6');
}
FORBIDDEN.addAddress('::', 'ipv6');
FORBIDDEN.addAddress('::1', 'ipv6');
FORBIDDEN.addSubnet('64:ff9b:1::', 48, 'ipv6'); // local-use NAT64
FORBIDDEN.addSubnet('100::', 64, 'ipv6'); // discard-only
FORBIDDEN.addSubnet('2001:db8::', 32, 'ipv6'); // documentation
FORBIDDEN.addSubnet('fc00::', 7, 'ipv6'); // unique-local
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6'); // link-local
FORBIDDEN.addSubnet('fec0::', 10, 'ipv6'); // site-local (deprecated)
FORBIDDEN.addSubnet('ff00::', 8, 'ipv6'); // multicast

/** `2002:AABB:CCDD::` for the IPv4 net `A.B.C.D`: where 6to4 puts it. */
function sixToFour(ipv4: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = ipv4.split('.').map(Number);
  const hex = (high: number, low: number): string => ((high << 8) | low).toString(16);
  return `2002:${hex(a, b)}:${hex(c, d)}::`;
}

/** An IP literal as a URL carries it (`[::1]`) or bare; undefined for a name. */
function ipLiteral(host: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family === 0) return undefined;
  return { address: bare, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** True for an address in a range that is not globally reachable (the static list above). */
export function isPrivateAddress(address: string): boolean {
  const ip = ipLiteral(address);
  return ip !== undefined && FORBIDDEN.check(ip.address, ip.family);
}

/** The addresses of this host's network interfaces, as they are now (interfaces come and go). */
function interfaceAddresses(): BlockList {
  const own = new BlockList();
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      // A zone id (`fe80::1%eth0`) is not part of the address.
      const address = entry.address.split('%')[0] ?? entry.address;
      own.addAddress(address, entry.family === 'IPv4' ? 'ipv4' : 'ipv6');
      // The IPv4 address reached as IPv4-mapped IPv6 is the same machine.
      if (entry.family === 'IPv4') own.addAddress(`::ffff:${address}`, 'ipv6');
    }
  }
  return own;
}

export interface CallbackAddressGuardOptions {
  /** How host names are resolved (default: the system resolver, dns.lookup). */
  lookup?: HostLookup | undefined;
}

export interface CallbackAddressGuard {
  /** A private or reserved address, or one of this host's own; false for names (see `resolve`). */
  readonly isForbidden: (host: string) => boolean;
  /**
   * Every address of `host` (an IP literal is its own address), once each, checked.
   * @throws Error with `code` EPRIVATEADDRESS when any of them is forbidden, or the resolver's
   *   error (ENOTFOUND, …) when the name does not resolve
   */
  resolve(host: string): Promise<LookupAddress[]>;
  /**
   * Resolves every callback URL host and refuses the callback when any is forbidden. Call before
   * storing the object.
   * @throws OssError InvalidArgument (400) `Private address is forbidden to callback.`
   *   (0007-00000008), or `Can not get ip by this host.` (0007-00000007, [U] in SPEC §2.3) when a
   *   host does not resolve
   */
  assertPublic(spec: CallbackSpec, callback: string): Promise<void>;
}

const systemLookup: HostLookup = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });

export function createCallbackAddressGuard(options: CallbackAddressGuardOptions = {}): CallbackAddressGuard {
  const lookup = options.lookup ?? systemLookup;
  const isForbidden = (host: string): boolean => {
    const ip = ipLiteral(host);
    if (ip === undefined) return false;
    return FORBIDDEN.check(ip.address, ip.family) || interfaceAddresses().check(ip.address, ip.family);
  };
  const resolve = async (host: string): Promise<LookupAddress[]> => {
    const ip = ipLiteral(host);
    const addresses =
      ip === undefined
        ? [...(await lookup(host))]
        : [{ address: ip.address, family: ip.family === 'ipv4' ? 4 : 6 }];
    if (addresses.length === 0) {
      throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
    }
    if (addresses.some((entry) => isForbidden(entry.address))) throw privateAddressError();
    return addresses;
  };
  return {
    isForbidden,
    resolve,
    async assertPublic(spec, callback) {
      for (const url of spec.urls) {
        try {
          await resolve(url.hostname);
        } catch (error) {
          if ((error as { code?: unknown }).code === 'EPRIVATEADDRESS') {
            throw invalid('Private address is forbidden to callback.', callback, '0007-00000008');
          }
          // FIDELITY: SPEC §2.3 [U] gives this message for a name that does not resolve; OSS's EC is a guess.
          throw invalid('Can not get ip by this host.', callback, '0007-00000007');
        }
      }
    },
  };
}

/** The guard on the system resolver, for callers that configure none. */
export const systemCallbackAddressGuard: CallbackAddressGuard = createCallbackAddressGuard();

/** `systemCallbackAddressGuard.assertPublic`. */
export function assertPublicCallbackAddresses(spec: CallbackSpec, callback: string): Promise<void> {
  return systemCallbackAddressGuard.assertPublic(spec, callback);
}

/**
 * A `net.connect` lookup that answers with addresses already resolved and checked, whatever name
 * it is asked for: the socket connects to what the guard approved, never to a fresh answer.
 */
export function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
    const matching = wanted === undefined ? addresses : addresses.filter((a) => a.family === wanted);
    const first = matching[0];
    if (first === undefined) {
      callback(Object.assign(new Error('no checked address of that family'), { code: 'ENOTFOUND' }), '', 0);
    } else if (options.all === true) {
      callback(null, [...matching]);
    } else {
      callback(null, first.address, first.family);
    }
  };
}

export function privateAddressError(): Error {
  return Object.assign(new Error('Private address is forbidden to callback.'), { code: 'EPRIVATEADDRESS' });
}

function invalid(message: string, callback: string, ec: string): OssError {
  return ossError('InvalidArgument', {
    message,
    details: { ArgumentName: 'callback', ArgumentValue: callback, EC: ec },
  });
}
