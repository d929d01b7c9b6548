import type { Clock } from './clock';

interface Expected {
  adds: Set<string>;
  deletes: Set<string>;
  since: number;
}

/** Upstream's expectation timeout: a lost watch event must not wedge a controller forever. */
const EXPECTATION_TTL_MS = 5 * 60 * 1000;

/**
 * Creates and deletes a controller asked for and has not seen in its cache yet. While any are
 * outstanding the controller does not act on its owner again: a cache that has not caught up
 * would otherwise make it create (or delete) the same pods twice.
 */
export class Expectations {
  private readonly pending = new Map<string, Expected>();

  constructor(private readonly clock: Clock) {}

  expectAdd(owner: string, dependent: string): void {
    this.entry(owner).adds.add(dependent);
  }

  expectDelete(owner: string, dependent: string): void {
    this.entry(owner).deletes.add(dependent);
  }

  /** The cache saw the dependent appear. */
  observeAdd(owner: string, dependent: string): void {
    this.observe(owner, (e) => e.adds.delete(dependent));
  }

  observeDelete(owner: string, dependent: string): void {
    this.observe(owner, (e) => e.deletes.delete(dependent));
  }

  /** A write that failed will never be observed: forget it. */
  forget(owner: string, dependent: string): void {
    this.observe(owner, (e) => {
      e.adds.delete(dependent);
      e.deletes.delete(dependent);
    });
  }

  satisfied(owner: string): boolean {
    const e = this.pending.get(owner);
    if (!e) return true;
    if (this.clock.now().getTime() - e.since > EXPECTATION_TTL_MS) {
      this.pending.delete(owner);
      return true;
    }
    return false;
  }

  clear(owner: string): void {
    this.pending.delete(owner);
  }

  private entry(owner: string): Expected {
    let e = this.pending.get(owner);
    if (!e)
      this.pending.set(
        owner,
        (e = { adds: new Set(), deletes: new Set(), since: this.clock.now().getTime() }),
      );
    return e;
  }

  private observe(owner: string, change: (e: Expected) => void): void {
    const e = this.pending.get(owner);
    if (!e) return;
    change(e);
    if (!e.adds.size && !e.deletes.size) this.pending.delete(owner);
  }
}
