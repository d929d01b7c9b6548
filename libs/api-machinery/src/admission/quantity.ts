/**
 * resource.Quantity strings ("100m", "1Gi", "1e3"). Validation only needs to know whether a
 * string parses and how two quantities compare, so the value is kept as a float.
 */

export const QUANTITY_PATTERN = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';

const BINARY_SUFFIXES: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL_SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The quantity's value, or undefined when the string is not a quantity. Numbers are accepted as YAML gives them. */
export function parseQuantity(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) ? input : undefined;
  if (typeof input !== 'string') return undefined;
  const match = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/.exec(input);
  if (!match) return undefined;
  const mantissa = Number(match[1]);
  const suffix = match[2];
  if (suffix in BINARY_SUFFIXES) return mantissa * BINARY_SUFFIXES[suffix];
  if (suffix in DECIMAL_SUFFIXES) return mantissa * DECIMAL_SUFFIXES[suffix];
  const exponent = /^[eE]([+-]?[0-9]+)$/.exec(suffix);
  return exponent ? mantissa * 10 ** Number(exponent[1]) : undefined;
}
