import { isIP } from 'node:net';

/**
 * IP addresses and networks, for deciding which addresses the upload service may connect to. Every address is
 * handled as 16 bytes, IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so one comparison covers both families
 * and the mapped spelling of an IPv4 address is the same address.
 */

export interface Network {
  /** As written in the setting, for messages. */
  text: string;
  bytes: Uint8Array;
  /** Leading bits that must match, out of 128. */
  prefix: number;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function fromIpv4(text: string): Uint8Array {
  return Uint8Array.from([...MAPPED_PREFIX, ...text.split('.').map(Number)]);
}

function fromIpv6(text: string): Uint8Array {
  let s = text;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    s = `${s.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head, tail] = s.split('::');
  const words =
    tail === undefined
      ? groups(head)
      : [...groups(head), ...new Array<number>(8 - groups(head).length - groups(tail).length).fill(0), ...groups(tail)];
  return Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]));
}

/** An IP literal as 16 bytes, or undefined if `text` is not one. A zone (fe80::1%eth0) is ignored. */
export function ipBytes(text: string): Uint8Array | undefined {
  const address = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(address);
  return family === 4 ? fromIpv4(address) : family === 6 ? fromIpv6(address) : undefined;
}

/** `a.b.c.d/n`, `x:y::z/n`, or a single address; undefined if malformed. */
export function parseNetwork(text: string): Network | undefined {
  const [address, bits, extra] = text.trim().split('/');
  const bytes = ipBytes(address);
  if (!bytes || extra !== undefined) return undefined;
  const v4 = isIP(address) === 4;
  const max = v4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d+$/.test(bits ?? String(max)) || prefix > max) return undefined;
  return { text: text.trim(), bytes, prefix: v4 ? prefix + 96 : prefix };
}

export function inNetwork(address: Uint8Array, network: Network): boolean {
  const whole = network.prefix >> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== network.bytes[i]) return false;
  const mask = (0xff << (8 - (network.prefix & 7))) & 0xff;
  return whole === 16 || (address[whole] & mask) === (network.bytes[whole] & mask);
}

const networks = (list: string[]) => list.map((text) => parseNetwork(text)!);

/**
 * Addresses that are not the public internet: this host, private and carrier networks, link-local (including the
 * cloud metadata service at 169.254.169.254), multicast, reserved and unspecified addresses, in both families.
 */
const NOT_PUBLIC = networks([
  '0.0.0.0/8', // "this network", and the unspecified address
  '10.0.0.0/8', // RFC 1918
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, cloud metadata
  '172.16.0.0/12', // RFC 1918
  '192.0.0.0/24', // IETF protocol assignments
  '192.168.0.0/16', // RFC 1918
  '198.18.0.0/15', // benchmarking
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and the broadcast address
  '::/128', // unspecified
  '::1/128', // loopback
  '100::/64', // discard-only
  'fc00::/7', // unique-local
  'fe80::/10', // link-local
  'fec0::/10', // the former site-local
  'ff00::/8', // multicast
]);

/**
 * IPv6 forms that carry an IPv4 address, which is where a connection to them may end up: IPv4-compatible
 * (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::). IPv4-mapped addresses are the IPv4 form here.
 */
const EMBEDDING: { network: Network; at: number }[] = [
  { network: parseNetwork('::/96')!, at: 12 },
  { network: parseNetwork('64:ff9b::/96')!, at: 12 },
  { network: parseNetwork('2002::/16')!, at: 2 },
];

/** The IPv4 address an IPv6 address stands for, as 16 bytes, if it embeds one. */
function embeddedIpv4(address: Uint8Array): Uint8Array | undefined {
  const form = EMBEDDING.find((e) => inNetwork(address, e.network));
  return form && Uint8Array.from([...MAPPED_PREFIX, ...address.subarray(form.at, form.at + 4)]);
}

/**
 * Whether the upload service may connect to `address` (an IP literal): a public address, or one in an allowed
 * network. An IPv6 address that embeds an IPv4 one is judged as both; anything unparseable is refused.
 */
export function mayConnect(address: string, allowed: readonly Network[]): boolean {
  const bytes = ipBytes(address);
  if (!bytes) return false;
  const forms = [bytes, embeddedIpv4(bytes)].filter((b): b is Uint8Array => b !== undefined);
  if (forms.some((form) => allowed.some((network) => inNetwork(form, network)))) return true;
  return !forms.some((form) => NOT_PUBLIC.some((network) => inNetwork(form, network)));
}
