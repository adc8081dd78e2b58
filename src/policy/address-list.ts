// Lists of addresses and networks from the config (`trustedProxies`, a rate limit's `allow`):
// "10.0.0.0/8", "::1", "192.0.2.7". IPv4-mapped IPv6 addresses (how a dual-stack socket reports an
// IPv4 peer) match their IPv4 networks. Parsing and matching are ipaddr.js's.
import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** A single address or a CIDR network → a range; an error message when it is neither. */
export function parseRange(value: string): Range | string {
  const v = value.trim();
  try {
    if (v.includes('/')) return ipaddr.parseCIDR(v);
    if (!ipaddr.isValid(v) || (v.includes('.') && !v.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(v))) return `not an address or network: ${JSON.stringify(value)}`;
    const addr = ipaddr.parse(v);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return `not an address or network: ${JSON.stringify(value)}`;
  }
}

/** A client address as written by a socket or a proxy → its canonical form, or undefined. */
export function parseAddress(value: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const v = value.trim();
  if (!ipaddr.isValid(v)) return undefined;
  if (v.includes('.') && !v.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(v)) return undefined;
  return ipaddr.process(v);
}

export class AddressList {
  private readonly v4: Range[] = [];
  private readonly v6: Range[] = [];
  /** Answers for addresses already asked about (a handful of peers ask millions of times). */
  private readonly memo = new Map<string, boolean>();

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const range = parseRange(e);
      if (typeof range === 'string') throw new Error(range);
      (range[0].kind() === 'ipv4' ? this.v4 : this.v6).push(range);
    }
  }

  get empty(): boolean {
    return this.v4.length === 0 && this.v6.length === 0;
  }

  has(address: string): boolean {
    if (this.empty) return false;
    const known = this.memo.get(address);
    if (known !== undefined) return known;
    const addr = parseAddress(address);
    let yes = false;
    if (addr !== undefined) {
      const ranges = addr.kind() === 'ipv4' ? this.v4 : this.v6;
      yes = ranges.some((r) => addr.match(r as never));
    }
    // Bounded: the memo is for the few peers that send most traffic, not for every client.
    if (this.memo.size >= 4096) this.memo.clear();
    this.memo.set(address, yes);
    return yes;
  }
}
