import { formatIPv4, parseIPv4, parseIPv4Pool } from './ipv4';

describe('IPv4 addresses and pools', () => {
  it('parses and formats dotted quads, refusing anything else', () => {
    expect(parseIPv4('10.0.0.1')).toBe(167772161);
    expect(formatIPv4(167772161)).toBe('10.0.0.1');
    expect(formatIPv4(parseIPv4('255.255.255.255')!)).toBe('255.255.255.255');
    for (const bad of ['10.0.0', '10.0.0.256', '10.0.0.01', 'a.b.c.d', '::1', ''])
      expect(parseIPv4(bad)).toBeUndefined();
  });

  it('reads a CIDR as its host addresses and a range as written', () => {
    const pool = (text: string) => {
      const parsed = parseIPv4Pool(text);
      return typeof parsed === 'string' ? parsed : [formatIPv4(parsed.first), formatIPv4(parsed.last)];
    };
    expect(pool('192.168.49.0/28')).toEqual(['192.168.49.1', '192.168.49.14']);
    expect(pool('192.168.49.7/30')).toEqual(['192.168.49.5', '192.168.49.6']);
    expect(pool('192.168.49.7/32')).toEqual(['192.168.49.7', '192.168.49.7']);
    expect(pool('192.168.49.6/31')).toEqual(['192.168.49.6', '192.168.49.7']);
    expect(pool('172.18.255.200-172.18.255.250')).toEqual(['172.18.255.200', '172.18.255.250']);
    expect(pool('10.0.0.5 - 10.0.0.5')).toEqual(['10.0.0.5', '10.0.0.5']);
    expect(pool('10.0.0.0/33')).toContain('is not an IPv4 CIDR');
    expect(pool('10.0.0.9-10.0.0.1')).toContain('ends before it starts');
    expect(pool('10.0.0.1')).toContain('neither an IPv4 CIDR nor a first-last range');
    expect(pool('fd00::/64')).toContain('is not an IPv4 CIDR');
  });
});
