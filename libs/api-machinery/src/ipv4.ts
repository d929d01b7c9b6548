/** A dotted-quad IPv4 address as a number (`10.0.0.1` -> 167772161); undefined for anything else. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255))
    return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIPv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}

/**
 * An address pool written as a CIDR (`192.168.49.0/28`: its host addresses, without the network
 * and broadcast addresses unless the prefix is /31 or /32) or as an inclusive `first-last` range.
 * Returns the first and last address, or a reason the text is neither.
 */
export function parseIPv4Pool(text: string): { first: number; last: number } | string {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const base = parseIPv4(text.slice(0, slash));
    const bits = text.slice(slash + 1);
    if (base === undefined || !/^\d{1,2}$/.test(bits) || Number(bits) > 32)
      return `${JSON.stringify(text)} is not an IPv4 CIDR`;
    const size = 2 ** (32 - Number(bits));
    const network = base - (base % size);
    return size <= 2
      ? { first: network, last: network + size - 1 }
      : { first: network + 1, last: network + size - 2 };
  }
  const dash = text.indexOf('-');
  const first = dash < 0 ? undefined : parseIPv4(text.slice(0, dash).trim());
  const last = dash < 0 ? undefined : parseIPv4(text.slice(dash + 1).trim());
  if (first === undefined || last === undefined)
    return `${JSON.stringify(text)} is neither an IPv4 CIDR nor a first-last range of IPv4 addresses`;
  if (first > last) return `${JSON.stringify(text)} ends before it starts`;
  return { first, last };
}
