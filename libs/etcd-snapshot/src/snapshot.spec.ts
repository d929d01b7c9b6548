import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readEtcdSnapshot, stateFromEvents, stateToEvents, writeEtcdSnapshot } from './index';
import type { EtcdEvent } from './types';
import { bigLog, EventLog, smallLog, tempDir, treeStats } from './spec-fixtures';

async function collect(path: string): Promise<EtcdEvent[]> {
  const out: EtcdEvent[] = [];
  for await (const e of readEtcdSnapshot(path).events()) out.push(e);
  return out;
}

/**
 * Events as plain strings for comparison (jest compares Buffers byte by byte, far too slowly for
 * thousands of them). The reader fills in sub 0; the writer accepts it omitted.
 */
const plain = (events: EtcdEvent[]) =>
  events.map((e) => ({ sub: 0, ...e, key: e.key.toString('latin1'), value: e.value?.toString('base64') }));
const plainState = async (events: AsyncIterable<EtcdEvent> | EtcdEvent[]) =>
  (await stateFromEvents(events)).map((k) => ({
    ...k,
    key: k.key.toString('latin1'),
    value: k.value.toString('base64'),
  }));

describe('writeEtcdSnapshot / readEtcdSnapshot', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('round-trips a small history in three pages plus the sha256 trailer', async () => {
    const log = smallLog();
    const path = join(dir, 'small.db');
    const res = await writeEtcdSnapshot(path, log.events, { revision: 7 });

    const file = await readFile(path);
    expect(res).toEqual({ bytes: 3 * 4096 + 32, sha256: file.subarray(-32).toString('hex'), keys: 6 });
    expect(file.length).toBe(res.bytes);
    expect(createHash('sha256').update(file.subarray(0, -32)).digest('hex')).toBe(res.sha256);

    expect(plain(await collect(path))).toEqual(plain(log.events));
    expect(await readEtcdSnapshot(path).meta()).toEqual({
      pageSize: 4096,
      txid: 2,
      revision: 7,
      consistentIndex: 1,
      authEnabled: false,
      sha256Verified: true,
    });
  });

  it('round-trips the reference large case: a three-level tree, overflow pages, a tombstone last', async () => {
    const log = bigLog();
    const path = join(dir, 'big.db');
    const res = await writeEtcdSnapshot(path, log.events, { revision: log.revision });
    expect(log.events.length).toBeGreaterThan(4900);
    expect(res.keys).toBe(log.events.length);
    expect(log.events.at(-1)!.type).toBe('delete');

    const stats = await treeStats(path);
    // Every page is reachable (bbolt's tx.Check insists, as the freelist is not stored); 40 KB takes 10 pages.
    expect(stats).toMatchObject({ keyLevels: ['branch', 'branch', 'leaf'], maxOverflow: 9 });
    expect(stats.reachable).toBe(stats.pages);
    const read = await collect(path);
    expect(plain(read)).toEqual(plain(log.events));
    expect(read.find((e) => e.value?.length === 40_000)).toBeDefined();
    const meta = await readEtcdSnapshot(path).meta();
    expect(meta.revision).toBe(log.revision);
    expect(await plainState(read)).toEqual(await plainState(log.events));
  });

  it('keeps sub revisions, leases and compaction marks', async () => {
    const lease = 0x694d7f2c8a3e1234n;
    const log = new EventLog()
      .put('/a', '1')
      .txn([{ key: '/b', value: '2', lease }, { key: '/c', value: '3' }, { key: '/a' }])
      .put('/c', '4');
    const path = join(dir, 'subs.db');
    await writeEtcdSnapshot(path, log.events, {
      revision: 4,
      compactRevision: 3,
      consistentIndex: 42,
      leases: [{ id: lease, ttlSeconds: 600 }],
    });
    const read = await collect(path);
    expect(read.map((e) => [e.revision, e.sub, e.type])).toEqual([
      [2, 0, 'put'],
      [3, 0, 'put'],
      [3, 1, 'put'],
      [3, 2, 'delete'],
      [4, 0, 'put'],
    ]);
    expect(read[1].lease).toBe(lease);
    expect(await readEtcdSnapshot(path).meta()).toMatchObject({
      revision: 4,
      compactRevision: 3,
      scheduledCompactRevision: 3,
      consistentIndex: 42,
    });
  });

  it('writes and reads other page sizes', async () => {
    const log = bigLog();
    const path = join(dir, 'p16k.db');
    await writeEtcdSnapshot(path, log.events.slice(0, 1500), {
      revision: log.events[1499].revision,
      pageSize: 16384,
    });
    expect((await stat(path)).size % 16384).toBe(32);
    const meta = await readEtcdSnapshot(path).meta();
    expect(meta.pageSize).toBe(16384);
    expect(plain(await collect(path))).toEqual(plain(log.events.slice(0, 1500)));
  });

  it('reads a raw data-dir db (no trailer) and says the hash was not checked', async () => {
    const path = join(dir, 'raw.db');
    await writeEtcdSnapshot(path, smallLog().events, { revision: 7 });
    await writeFile(path, (await readFile(path)).subarray(0, -32));
    expect(await readEtcdSnapshot(path).meta()).toMatchObject({ revision: 7, sha256Verified: false });
    expect(await collect(path)).toHaveLength(6);
  });

  it('writes a state-only snapshot that restores at R even though R was a delete', async () => {
    const log = smallLog().put('/registry/pods/default/z', '{}').delete('/registry/pods/default/z');
    const state = await stateFromEvents(log.events);
    const events = stateToEvents(state);
    expect(events.map((e) => e.revision)).toEqual([4, 5, 7]);
    const path = join(dir, 'state.db');
    await writeEtcdSnapshot(path, events, { revision: log.revision, compactRevision: log.revision });
    const meta = await readEtcdSnapshot(path).meta();
    expect(meta).toMatchObject({ revision: 9, compactRevision: 9, scheduledCompactRevision: 9 });
    expect(await stateFromEvents(readEtcdSnapshot(path).events())).toEqual(state);
  });

  it('gives keys changed in one transaction sub revisions in key order', () => {
    const k = (key: string, modRevision: number) => ({
      key: Buffer.from(key),
      value: Buffer.from('v'),
      createRevision: 2,
      modRevision,
      version: 1,
    });
    const events = stateToEvents([k('/b', 5), k('/c', 3), k('/a', 5)]);
    expect(events.map((e) => [e.key.toString(), e.revision, e.sub])).toEqual([
      ['/c', 3, 0],
      ['/a', 5, 0],
      ['/b', 5, 1],
    ]);
    expect(() => stateToEvents([k('/a', 3), k('/a', 4)])).toThrow('appears twice');
  });

  describe('refuses input etcd could not restore as asked, and leaves no file behind', () => {
    const put = (revision: number, sub = 0): EtcdEvent => ({
      key: Buffer.from('/k'),
      revision,
      sub,
      type: 'put',
      value: Buffer.from('v'),
      createRevision: 2,
      version: 1,
    });
    it.each([
      [
        'events out of order',
        [put(3), put(2)],
        { revision: 3 },
        'events must be in revision order: 2/0 comes after 3/0',
      ],
      [
        'a repeated sub revision',
        [put(3), put(3)],
        { revision: 3 },
        'events must be in revision order: 3/0 comes after 3/0',
      ],
      [
        'an event above the revision',
        [put(2), put(5)],
        { revision: 4 },
        'event at revision 5 is above the snapshot revision 4',
      ],
      [
        'a revision without its event',
        [put(2), put(3)],
        { revision: 5 },
        'etcd would restore this snapshot at revision 3, not 5',
      ],
      [
        'a compact revision above the revision',
        [put(2)],
        { revision: 2, compactRevision: 3 },
        'compactRevision 3 is above',
      ],
      [
        'a put created after itself',
        [{ ...put(2), createRevision: 3 }],
        { revision: 2 },
        'has createRevision 3',
      ],
      ['version 0', [{ ...put(2), version: 0 }], { revision: 2 }, 'has version 0'],
      ['an empty key', [{ ...put(2), key: Buffer.alloc(0) }], { revision: 2 }, 'has an empty key'],
      ['revision 0', [], { revision: 0 }, 'options.revision 0 must be a positive integer'],
      ['a bad page size', [], { revision: 1, pageSize: 3000 }, 'pageSize 3000 is not a power of two'],
    ])('%s', async (_what, events, options, message) => {
      const path = join(dir, 'bad.db');
      await expect(writeEtcdSnapshot(path, events, options)).rejects.toThrow(message);
      await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
});
