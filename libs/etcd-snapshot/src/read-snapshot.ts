import { BoltReader } from './bolt/reader';
import type { Entry } from './bolt/layout';
import { decodeKeyValue, parseRevisionKey, REVISION_BYTES } from './mvcc';
import type { EtcdEvent, SnapshotMeta } from './types';

export interface EtcdSnapshotReader {
  /** Compaction and index state from `meta`, and the revision etcd would restore at. */
  meta(): Promise<SnapshotMeta>;
  /** The `key` bucket's entries in revision order, streamed from disk. */
  events(): AsyncIterable<EtcdEvent>;
  /** How many entries events() yields (every put and delete the file holds), from page headers alone. */
  count(): Promise<number>;
}

/** Top-level buckets the reader looks at; etcd's other buckets describe the old cluster, not its data. */
const WANTED = new Set(['key', 'meta', 'cluster', 'auth']);

/**
 * Reads an etcd v3 snapshot: `etcdctl snapshot save` output or a raw `member/snap/db`. Nothing is read
 * until `meta()` or `events()` is used; the first use checks the bbolt metas, the file size and the
 * sha256 trailer (once), and every problem is a SnapshotFormatError naming it.
 */
export function readEtcdSnapshot(path: string): EtcdSnapshotReader {
  let verified: Promise<void> | undefined;
  const verifyOnce = (r: BoltReader) => (verified ??= r.verifyTrailer());

  const withReader = async <T>(
    use: (r: BoltReader, buckets: Map<string, Buffer>) => Promise<T>,
  ): Promise<T> => {
    const r = await BoltReader.open(path);
    try {
      await verifyOnce(r);
      return await use(r, await topLevelBuckets(r));
    } finally {
      await r.close();
    }
  };

  return {
    meta: () =>
      withReader(async (r, buckets) => {
        const key = keyBucket(r, buckets);
        const meta = buckets.has('meta') ? await readMetaBucket(r, buckets.get('meta')!) : {};
        const last = await r.lastEntry(key, 'key');
        const lastRevision = last ? parseEvent(r, last).revision : 1;
        let clusterVersion: string | undefined;
        let authEnabled = false;
        for await (const e of bucketEntries(r, buckets, 'cluster')) {
          if (e.key.toString() === 'clusterVersion') clusterVersion = e.value.toString();
        }
        for await (const e of bucketEntries(r, buckets, 'auth')) {
          if (e.key.toString() === 'authEnabled') authEnabled = e.value.length === 1 && e.value[0] === 1;
        }
        return {
          pageSize: r.pageSize,
          txid: Number(r.meta.txid),
          // What etcd's MVCC store restores as its current revision.
          revision: Math.max(lastRevision, meta.compactRevision ?? 0),
          ...meta,
          ...(clusterVersion === undefined ? {} : { clusterVersion }),
          authEnabled,
          sha256Verified: r.hasTrailer,
        };
      }),

    count: () => withReader((r, buckets) => r.count(keyBucket(r, buckets), 'key')),

    events: () => ({
      [Symbol.asyncIterator]: () => streamEvents(path, verifyOnce),
    }),
  };
}

/** events() as a generator that owns its file handle until the consumer stops. */
async function* streamEvents(
  path: string,
  verifyOnce: (r: BoltReader) => Promise<void>,
): AsyncGenerator<EtcdEvent> {
  const r = await BoltReader.open(path);
  try {
    await verifyOnce(r);
    const key = keyBucket(r, await topLevelBuckets(r));
    let previous: Buffer | undefined;
    for await (const entry of r.entries(key, 'key')) {
      if (previous && Buffer.compare(previous, entry.key) >= 0) {
        throw r.fail(
          `key bucket: ${entry.key.toString('hex')} is out of revision order after ${previous.toString('hex')}`,
        );
      }
      previous = entry.key;
      yield parseEvent(r, entry);
    }
  } finally {
    await r.close();
  }
}

async function topLevelBuckets(r: BoltReader): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for await (const e of r.entries(r.rootBucket(), 'root')) {
    const name = e.key.toString('latin1');
    if (!WANTED.has(name)) continue;
    if (!e.bucket) throw r.fail(`the root bucket's entry ${name} is a value, not a bucket`);
    found.set(name, e.value);
  }
  return found;
}

function keyBucket(r: BoltReader, buckets: Map<string, Buffer>): Buffer {
  const key = buckets.get('key');
  if (!key) throw r.fail('no `key` bucket: this bbolt database is not an etcd v3 data file');
  return key;
}

async function* bucketEntries(
  r: BoltReader,
  buckets: Map<string, Buffer>,
  name: string,
): AsyncGenerator<Entry> {
  const b = buckets.get(name);
  if (b) yield* r.entries(b, name);
}

async function readMetaBucket(
  r: BoltReader,
  bucket: Buffer,
): Promise<Pick<SnapshotMeta, 'compactRevision' | 'scheduledCompactRevision' | 'consistentIndex' | 'term'>> {
  const out: Pick<SnapshotMeta, 'compactRevision' | 'scheduledCompactRevision' | 'consistentIndex' | 'term'> =
    {};
  for await (const e of r.entries(bucket, 'meta')) {
    const name = e.key.toString('latin1');
    if (name === 'finishedCompactRev') out.compactRevision = revisionValue(r, name, e.value);
    else if (name === 'scheduledCompactRev') out.scheduledCompactRevision = revisionValue(r, name, e.value);
    else if (name === 'consistent_index') out.consistentIndex = u64Value(r, name, e.value);
    else if (name === 'term') out.term = u64Value(r, name, e.value);
  }
  return out;
}

function revisionValue(r: BoltReader, name: string, v: Buffer): number {
  const rev = v.length === REVISION_BYTES ? parseRevisionKey(v) : undefined;
  if (!rev) throw r.fail(`meta/${name} is not a revision: ${v.toString('hex')}`);
  return rev.main;
}

function u64Value(r: BoltReader, name: string, v: Buffer): number {
  const n = v.length === 8 ? v.readBigUInt64BE(0) : undefined;
  if (n === undefined || n > BigInt(Number.MAX_SAFE_INTEGER))
    throw r.fail(`meta/${name} is not a usable u64: ${v.toString('hex')}`);
  return Number(n);
}

function parseEvent(r: BoltReader, entry: Entry): EtcdEvent {
  const rev = parseRevisionKey(entry.key);
  if (!rev || entry.bucket) throw r.fail(`key bucket: entry ${entry.key.toString('hex')} is not a revision`);
  const where = `key bucket, revision ${rev.main}/${rev.sub}`;
  let kv;
  try {
    kv = decodeKeyValue(entry.value);
  } catch (err) {
    throw r.fail(`${where}: bad mvccpb.KeyValue: ${(err as Error).message}`);
  }
  if (kv.key.length === 0) throw r.fail(`${where}: the KeyValue has no key`);
  if (rev.tombstone) {
    return { key: kv.key, revision: rev.main, sub: rev.sub, type: 'delete', createRevision: 0, version: 0 };
  }
  if (kv.modRevision !== rev.main) {
    throw r.fail(`${where}: the KeyValue's mod_revision is ${kv.modRevision}`);
  }
  return {
    key: kv.key,
    revision: rev.main,
    sub: rev.sub,
    type: 'put',
    value: kv.value,
    createRevision: kv.createRevision,
    version: kv.version,
    ...(kv.lease === 0n ? {} : { lease: kv.lease }),
  };
}
