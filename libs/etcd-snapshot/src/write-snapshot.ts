import { open, rm } from 'node:fs/promises';
import { DEFAULT_PAGE_SIZE, Entry, MAX_PAGE_SIZE, MIN_PAGE_SIZE } from './bolt/layout';
import { sha256Prefix, writeFully } from './bolt/io';
import { BoltPageWriter, writeBucket } from './bolt/writer';
import { encodeKeyValue, encodeLease, leaseKey, revisionKey, u64be } from './mvcc';
import type { EtcdEvent, WriteSnapshotOptions, WriteSnapshotResult } from './types';

/** etcd 3.4-3.6 create these at startup; shipping all of them keeps every version's restore path happy. */
const EMPTY_BUCKETS = ['alarm', 'auth', 'authRoles', 'authUsers', 'cluster', 'members', 'members_removed'];

/**
 * Writes an etcd v3 snapshot (a bbolt database plus sha256 trailer) that `etcdctl snapshot restore`
 * accepts without `--skip-hash-check`. `events` must come in revision order; they are written as given
 * (nothing is derived from them) and streamed to disk, so memory stays flat however many there are.
 * A source may hand them over in batches (arrays), which spares an asynchronous step per event.
 * On failure the partial file is removed.
 */
export async function writeEtcdSnapshot(
  path: string,
  events: AsyncIterable<EtcdEvent | readonly EtcdEvent[]> | Iterable<EtcdEvent>,
  options: WriteSnapshotOptions,
): Promise<WriteSnapshotResult> {
  const { revision, compactRevision } = options;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  checkRevision(revision, 'options.revision');
  if (compactRevision !== undefined) {
    checkRevision(compactRevision, 'options.compactRevision');
    if (compactRevision > revision) {
      throw new Error(`compactRevision ${compactRevision} is above the snapshot revision ${revision}`);
    }
  }
  if (
    options.consistentIndex !== undefined &&
    !(Number.isSafeInteger(options.consistentIndex) && options.consistentIndex >= 0)
  ) {
    throw new Error(`consistentIndex ${options.consistentIndex} must be a non-negative integer`);
  }
  if (!(pageSize >= MIN_PAGE_SIZE && pageSize <= MAX_PAGE_SIZE && (pageSize & (pageSize - 1)) === 0)) {
    throw new Error(`pageSize ${pageSize} is not a power of two from ${MIN_PAGE_SIZE} to ${MAX_PAGE_SIZE}`);
  }

  const fh = await open(path, 'w+');
  try {
    const w = new BoltPageWriter(fh, pageSize);
    const stats = { keys: 0, lastRevision: 0 };
    const buckets = new Map<string, Buffer>();
    buckets.set('key', await writeBucket(w, keyEntries(events, revision, stats), true));

    const restoredAt = Math.max(stats.lastRevision, compactRevision ?? 0);
    if (restoredAt !== revision) {
      throw new Error(
        `etcd would restore this snapshot at revision ${restoredAt}, not ${revision}: the last event is at ` +
          `${stats.lastRevision}; pass compactRevision: ${revision} when the history up to it is left out`,
      );
    }

    buckets.set('lease', await writeBucket(w, leaseEntries(options), true));
    buckets.set('meta', await writeBucket(w, metaEntries(options), true));
    for (const name of EMPTY_BUCKETS) buckets.set(name, await writeBucket(w, [], true));

    const root = [...buckets.keys()]
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map((name): Entry => ({ key: Buffer.from(name), value: buckets.get(name)!, bucket: true }));
    // bbolt's root bucket always lives in a page of its own: the meta points at it by page id.
    const rootValue = await writeBucket(w, root, false);
    const dbBytes = await w.finish(rootValue.readBigUInt64LE(0));

    const digest = await sha256Prefix(fh, dbBytes);
    await writeFully(fh, digest, dbBytes);
    await fh.sync();
    await fh.close();
    return { bytes: dbBytes + digest.length, sha256: digest.toString('hex'), keys: stats.keys };
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(path, { force: true });
    throw err;
  }
}

async function* keyEntries(
  events: AsyncIterable<EtcdEvent | readonly EtcdEvent[]> | Iterable<EtcdEvent>,
  revision: number,
  stats: { keys: number; lastRevision: number },
): AsyncGenerator<Entry[]> {
  let last: { main: number; sub: number } | undefined;
  const entry = (e: EtcdEvent): Entry => {
    const sub = e.sub ?? 0;
    checkRevision(e.revision, 'event revision');
    if (!Number.isSafeInteger(sub) || sub < 0) throw new Error(`event sub revision ${sub} is not valid`);
    if (e.revision > revision) {
      throw new Error(`event at revision ${e.revision} is above the snapshot revision ${revision}`);
    }
    if (last && (e.revision < last.main || (e.revision === last.main && sub <= last.sub))) {
      throw new Error(
        `events must be in revision order: ${e.revision}/${sub} comes after ${last.main}/${last.sub}`,
      );
    }
    if (e.key.length === 0) throw new Error(`event at revision ${e.revision} has an empty key`);
    last = { main: e.revision, sub };

    let value: Buffer;
    if (e.type === 'delete') {
      // etcd's tombstone: the revision key marked 't', holding a KeyValue with only the key.
      value = encodeKeyValue({ key: e.key });
    } else {
      if (!(
        Number.isSafeInteger(e.createRevision) &&
        e.createRevision >= 1 &&
        e.createRevision <= e.revision
      )) {
        throw new Error(`put at revision ${e.revision} has createRevision ${e.createRevision}`);
      }
      if (!(Number.isSafeInteger(e.version) && e.version >= 1)) {
        throw new Error(`put at revision ${e.revision} has version ${e.version}`);
      }
      value = encodeKeyValue({
        key: e.key,
        createRevision: e.createRevision,
        modRevision: e.revision,
        version: e.version,
        value: e.value,
        lease: e.lease,
      });
    }
    stats.keys++;
    stats.lastRevision = e.revision;
    return { key: revisionKey(e.revision, sub, e.type === 'delete'), value };
  };
  for await (const item of events) yield isBatch(item) ? item.map(entry) : [entry(item)];
}

function isBatch(item: EtcdEvent | readonly EtcdEvent[]): item is readonly EtcdEvent[] {
  return Array.isArray(item);
}

function leaseEntries(options: WriteSnapshotOptions): Entry[] {
  return [...(options.leases ?? [])]
    .map((l) => ({ key: leaseKey(l.id), value: encodeLease(l.id, l.ttlSeconds) }))
    .sort((a, b) => Buffer.compare(a.key, b.key));
}

function metaEntries(options: WriteSnapshotOptions): Entry[] {
  const entries: Entry[] = [
    { key: Buffer.from('consistent_index'), value: u64be(options.consistentIndex ?? 1) },
  ];
  if (options.compactRevision !== undefined) {
    // Equal scheduled and finished revisions tell etcd the compaction is complete (none to resume).
    const rev = revisionKey(options.compactRevision, 0);
    entries.push({ key: Buffer.from('finishedCompactRev'), value: rev });
    entries.push({ key: Buffer.from('scheduledCompactRev'), value: rev });
  }
  return entries;
}

function checkRevision(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${what} ${n} must be a positive integer`);
}
