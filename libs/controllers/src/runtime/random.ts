/**
 * Seeded randomness. A controller never calls Math.random: every choice it makes (a pod name
 * suffix, an Event name) is drawn from a stream seeded by the cluster seed plus what it is
 * deciding about, so two clusters fed the same events make the same choices, and a restarted
 * controller re-deriving a decision draws the same values.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** n characters of alphabet. */
  string(n: number, alphabet: string): string;
}

/** kube-apiserver's generateName alphabet: no vowels (no words) and no look-alike characters. */
export const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a, 32 bits: cheap, stable across platforms and versions, good enough to spread seeds. */
export function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** A mulberry32 stream over the hash of the parts. */
export function seededRandom(...parts: (string | number)[]): Random {
  let state = fnv32a(parts.join('\u0000'));
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    string: (n, alphabet) => {
      let s = '';
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
      return s;
    },
  };
}
