/** 1 MiB: about a 3% false-positive rate at a million keys, far less at fewer. */
const BITS = 1 << 23;
const PROBES = 3;

/**
 * The keys a bulk import has written so far, as a Bloom filter: "never written" is certain, so a batch
 * looks up the predecessors of only the keys that may have been written before (a snapshot's baseline
 * writes each key once, and then there is nothing to look up), and its size does not grow with the
 * import. A false positive costs a lookup that finds nothing.
 */
export class KeyFilter {
  private readonly bits = new Uint32Array(BITS / 32);

  add(key: string): void {
    const [a, b] = hashes(key);
    for (let i = 0; i < PROBES; i++) {
      const bit = (a + Math.imul(i, b)) & (BITS - 1);
      this.bits[bit >>> 5] |= 1 << (bit & 31);
    }
  }

  mayHave(key: string): boolean {
    const [a, b] = hashes(key);
    for (let i = 0; i < PROBES; i++) {
      const bit = (a + Math.imul(i, b)) & (BITS - 1);
      if (!(this.bits[bit >>> 5] & (1 << (bit & 31)))) return false;
    }
    return true;
  }
}

/** Two independent 32-bit FNV-1a style hashes; the second is odd so the probes never coincide. */
function hashes(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x5bd1e995;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  return [a >>> 0, (b | 1) >>> 0];
}
