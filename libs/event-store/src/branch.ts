import { Subject } from 'rxjs';
import { prefixEnd, type Lineage } from './history';
import type { StoredEvent, StoredObject } from './types';

const RECENT_SLACK = 1024;

/**
 * The in-memory head of one branch: every live object and a window of recent events, folded from the
 * log in revision order. It plays the role of kube-apiserver's watch cache: reads at the head and most
 * watches never touch the database.
 */
export class BranchHead {
  /** storage prefix segment (`pods`, `services/specs`) -> key -> object */
  private readonly byResource = new Map<string, Map<string, StoredObject>>();
  private readonly recent: StoredEvent[] = [];
  readonly events = new Subject<StoredEvent>();
  lastCheckpoint = 0;
  /**
   * Storage prefix -> revision a retention rule compacted its keys at: below it, reads of those keys
   * are no longer exact (the branch-wide compactRevision still applies to every key).
   */
  horizons = new Map<string, number>();

  constructor(
    readonly id: number,
    readonly name: string,
    readonly lineage: Lineage,
    public revision: number,
    public compactRevision: number,
    private readonly recentLimit: number,
  ) {}

  /** The oldest revision at which every key under prefix reads exactly. */
  horizonCovering(prefix: string): { revision: number; keyPrefix?: string } {
    let found: { revision: number; keyPrefix?: string } = { revision: this.compactRevision };
    for (const [keyPrefix, revision] of this.horizons)
      if (prefix.startsWith(keyPrefix) && revision > found.revision) found = { revision, keyPrefix };
    return found;
  }

  /** Compacted prefixes that lie inside prefix and cannot be read exactly at revision. */
  horizonsWithin(prefix: string, revision: number): { keyPrefix: string; oldestAvailable: number }[] {
    const within: { keyPrefix: string; oldestAvailable: number }[] = [];
    for (const [keyPrefix, horizon] of this.horizons)
      if (keyPrefix.startsWith(prefix) && keyPrefix !== prefix && revision < horizon)
        within.push({ keyPrefix, oldestAvailable: horizon });
    return within.sort((a, b) => (a.keyPrefix < b.keyPrefix ? -1 : 1));
  }

  /** The oldest revision at which every key in [from, to) reads exactly (to omitted: no end). */
  horizonOverlapping(from: string, to?: string): { revision: number; keyPrefix?: string } {
    let found: { revision: number; keyPrefix?: string } = { revision: this.compactRevision };
    for (const [keyPrefix, revision] of this.horizons) {
      const overlaps = prefixEnd(keyPrefix) > from && (to === undefined || keyPrefix < to);
      if (overlaps && revision > found.revision) found = { revision, keyPrefix };
    }
    return found;
  }

  load(objects: Iterable<StoredObject>): void {
    for (const o of objects) this.bucket(o.key).set(o.key, o);
  }

  /** Folds one committed event in; callers apply events strictly in revision order. */
  apply(event: StoredEvent): void {
    if (event.revision <= this.revision) return;
    const bucket = this.bucket(event.key);
    if (event.type === 'DELETED') bucket.delete(event.key);
    else
      bucket.set(event.key, {
        key: event.key,
        object: event.object,
        revision: event.revision,
        branchId: event.branchId,
        createRevision: event.createRevision,
        keyVersion: event.keyVersion,
        sealedWith: event.sealedWith,
        ...(event.opaque ? { opaque: event.opaque } : {}),
      });
    this.revision = event.revision;
    this.recent.push(event);
    // Trimmed in steps: dropping one event per append moved the whole window on every append.
    if (this.recent.length > this.recentLimit + RECENT_SLACK)
      this.recent.splice(0, this.recent.length - this.recentLimit);
    this.events.next(event);
  }

  get(key: string): StoredObject | undefined {
    return this.byResource.get(resourceSegment(key))?.get(key);
  }

  /** Live objects whose key starts with prefix, in key order. */
  list(prefix: string): StoredObject[] {
    const bucket = this.byResource.get(resourceSegment(prefix));
    const found: StoredObject[] = [];
    const sources = bucket
      ? [bucket]
      : prefix === '/' || prefix === '/registry/'
        ? [...this.byResource.values()]
        : [];
    for (const source of sources)
      for (const o of source.values()) if (o.key.startsWith(prefix)) found.push(o);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The revisions of the events that wrote the live objects, ascending. */
  liveRevisions(): Float64Array {
    const revisions = new Float64Array(this.count());
    let i = 0;
    for (const bucket of this.byResource.values())
      for (const o of bucket.values()) revisions[i++] = o.revision;
    return revisions.sort();
  }

  /** Which event holds each live object, in no particular order. */
  liveReferences(): { branchIds: number[]; revisions: number[] } {
    const branchIds: number[] = [];
    const revisions: number[] = [];
    for (const bucket of this.byResource.values())
      for (const o of bucket.values()) {
        branchIds.push(o.branchId);
        revisions.push(o.revision);
      }
    return { branchIds, revisions };
  }

  count(): number {
    let n = 0;
    for (const bucket of this.byResource.values()) n += bucket.size;
    return n;
  }

  all(): StoredObject[] {
    return this.list('/');
  }

  /** Recent events after revision, when the window still reaches back that far. */
  recentSince(revision: number): StoredEvent[] | undefined {
    if (revision >= this.revision) return [];
    const first = this.recent[0];
    // Revisions on a branch are gapless, so the window covers everything after first.revision - 1.
    if (!first || revision < first.revision - 1) return undefined;
    let lo = 0;
    let hi = this.recent.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.recent[mid].revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return this.recent.slice(lo);
  }

  private bucket(key: string): Map<string, StoredObject> {
    const segment = resourceSegment(key);
    let bucket = this.byResource.get(segment);
    if (!bucket) this.byResource.set(segment, (bucket = new Map()));
    return bucket;
  }
}

/**
 * The resource part of a storage key: `/registry/pods/ns/name` -> `pods`, and the two-level
 * prefixes kube-apiserver uses (`services/specs`, `services/endpoints`) kept whole.
 */
export function resourceSegment(key: string): string {
  const parts = key.split('/');
  return parts[2] === 'services' ? `services/${parts[3] ?? ''}` : (parts[2] ?? '');
}
