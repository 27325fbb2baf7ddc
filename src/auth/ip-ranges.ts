import { BlockList, isIP } from 'node:net';

/** IP ranges in CIDR notation (IPv4 and IPv6; a bare address is its own range), e.g. the reading room's. */
export class IpRanges {
  private constructor(
    private readonly list: BlockList,
    readonly size: number,
  ) {}

  /** Parses ranges such as 192.168.10.0/24 or 2001:db8::/48; the error names the bad one. */
  static parse(ranges: readonly string[]): IpRanges {
    const list = new BlockList();
    for (const range of ranges) {
      const [address = '', prefix] = range.split('/');
      const family = isIP(address);
      const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
      if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) {
        throw new Error(`kioskRanges: '${range}' is not an IP range (expected CIDR such as 192.168.10.0/24 or 2001:db8::/48)`);
      }
      list.addSubnet(address, bits, family === 6 ? 'ipv6' : 'ipv4');
    }
    return new IpRanges(list, ranges.length);
  }

  /** Whether an address is in one of the ranges (an IPv4-mapped IPv6 address counts as its IPv4 one). */
  has(address: string): boolean {
    if (this.size === 0) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const ip = mapped ?? address;
    const family = isIP(ip);
    return family !== 0 && this.list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  }
}
