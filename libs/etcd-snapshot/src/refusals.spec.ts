import { createHash } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { metaChecksum, PAGE_HEADER_SIZE } from './bolt/layout';
import { BoltPageWriter, writeBucket } from './bolt/writer';
import { readEtcdSnapshot, SnapshotFormatError, writeEtcdSnapshot } from './index';
import { bigLog, smallLog, tempDir } from './spec-fixtures';

const PAGE = 4096;

/** Rewrites a meta field (offset within the meta struct) and, unless told not to, its checksum. */
function patchMeta(
  file: Buffer,
  id: 0 | 1,
  field: number,
  write: (b: Buffer, at: number) => void,
  fixChecksum = true,
): void {
  const at = id * PAGE + PAGE_HEADER_SIZE;
  write(file, at + field);
  if (fixChecksum) file.writeBigUInt64LE(metaChecksum(file, at), at + 56);
}

/** Re-appends a correct trailer, so only the damage under test is visible. */
function resealed(db: Buffer): Buffer {
  return Buffer.concat([db, createHash('sha256').update(db).digest()]);
}

describe('readEtcdSnapshot refuses', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let good: Buffer;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const path = join(dir, 'good.db');
    await writeEtcdSnapshot(path, smallLog().events, { revision: 7 });
    good = await readFile(path);
  });
  afterAll(() => cleanup());

  async function refusal(bytes: Buffer | string): Promise<string> {
    const path = join(dir, 'damaged.db');
    await writeFile(path, bytes);
    const r = readEtcdSnapshot(path);
    const err = await r.meta().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SnapshotFormatError);
    // events() checks the same things before yielding anything.
    const it = r.events()[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow((err as Error).message);
    return (err as Error).message.replace(`${path}: `, '');
  }

  const db = () => Buffer.from(good.subarray(0, -32));

  it('an empty or tiny file', async () => {
    expect(await refusal(Buffer.alloc(0))).toBe('not a bbolt database: 0 bytes is too short for a meta page');
    expect(await refusal('{}')).toBe('not a bbolt database: 2 bytes is too short for a meta page');
  });

  it('a file that is not bbolt at all', async () => {
    expect(await refusal('apiVersion: v1\nkind: Config\n'.repeat(400))).toBe(
      'not a bbolt database: no bbolt meta page at the start of the 11200-byte file',
    );
  });

  it('bad magic', async () => {
    const f = db();
    patchMeta(f, 0, 0, (b, at) => b.writeUInt32LE(0xdeadbeef, at));
    expect(await refusal(resealed(f))).toBe('bad magic in meta page 0: 0xdeadbeef instead of 0xed0cdaed');
  });

  it('an unsupported bbolt version', async () => {
    const f = db();
    patchMeta(f, 0, 4, (b, at) => b.writeUInt32LE(3, at));
    expect(await refusal(resealed(f))).toBe(
      'unsupported bbolt version 3 in meta page 0 (only version 2 is known)',
    );
  });

  it('a bad meta checksum, in either meta page', async () => {
    const f = db();
    patchMeta(f, 0, 48, (b, at) => b.writeBigUInt64LE(7n, at), false);
    expect(await refusal(resealed(f))).toMatch(
      /^bad meta checksum in meta page 0: stored 0x[0-9a-f]+, computed 0x[0-9a-f]+$/,
    );
    const g = db();
    patchMeta(g, 1, 16, (b, at) => b.writeBigUInt64LE(5n, at), false);
    expect(await refusal(resealed(g))).toMatch(/^bad meta checksum in meta page 1/);
  });

  it('an unsupported page size', async () => {
    const f = db();
    patchMeta(f, 0, 8, (b, at) => b.writeUInt32LE(3000, at));
    expect(await refusal(resealed(f))).toBe(
      'unsupported page size 3000 in meta page 0 (expected a power of two from 1024 to 65536)',
    );
  });

  it('a page size that does not match the layout', async () => {
    const path = join(dir, 'larger.db');
    await writeEtcdSnapshot(path, bigLog().events.slice(0, 20), { revision: 21 });
    const f = (await readFile(path)).subarray(0, -32);
    patchMeta(f, 0, 8, (b, at) => b.writeUInt32LE(8192, at));
    expect(await refusal(resealed(f))).toBe(
      'no meta page 1 at offset 8192: the page size in meta page 0 is wrong, or meta page 1 is damaged',
    );
    const g = db();
    patchMeta(g, 1, 8, (b, at) => b.writeUInt32LE(16384, at));
    expect(await refusal(resealed(g))).toBe(
      'wrong page size: meta page 0 says 4096 bytes, meta page 1 says 16384',
    );
  });

  it('a truncated file', async () => {
    expect(await refusal(good.subarray(0, good.length - 100))).toBe(
      'truncated: the meta page says 3 pages of 4096 bytes (12288 bytes), but the file holds 12220 bytes',
    );
    // Cut by a multiple of 512, so the end still looks like a trailer.
    expect(await refusal(good.subarray(0, good.length - 1024))).toBe(
      'truncated: the meta page says 3 pages of 4096 bytes (12288 bytes), but the file holds 11264 bytes before its sha256 trailer',
    );
    expect(await refusal(good.subarray(0, 5000))).toBe(
      'truncated: 5000 bytes cannot hold the two 4096-byte meta pages',
    );
  });

  it('a meta page pointing outside the file', async () => {
    const f = db();
    for (const id of [0, 1] as const) patchMeta(f, id, 16, (b, at) => b.writeBigUInt64LE(99n, at));
    expect(await refusal(resealed(f))).toBe(
      "the root bucket's page 99 is outside the database (pages 2 to 2)",
    );
  });

  it('a bad sha256 trailer, or data that no longer matches it', async () => {
    const f = Buffer.from(good);
    f[f.length - 1] ^= 1;
    expect(await refusal(f)).toMatch(
      /^bad sha256 trailer: the file says [0-9a-f]{64}, its 12288 database bytes hash to [0-9a-f]{64}$/,
    );
    const g = Buffer.from(good);
    g[2 * PAGE + 600] ^= 1;
    expect(await refusal(g)).toMatch(/^bad sha256 trailer/);
  });

  it('a damaged page header inside the tree', async () => {
    const f = db();
    f.writeUInt16LE(0x10, 2 * PAGE + 8); // the root leaf now claims to be a freelist page
    expect(await refusal(resealed(f))).toBe(
      'page 2 (bucket root): expected a branch or leaf page, found flags 0x10',
    );
  });

  it('a bbolt database without a key bucket', async () => {
    const path = join(dir, 'nokey.db');
    const fh = await open(path, 'w+');
    const w = new BoltPageWriter(fh, PAGE);
    const meta = await writeBucket(w, [], true);
    const root = await writeBucket(w, [{ key: Buffer.from('meta'), value: meta, bucket: true }], false);
    const size = await w.finish(root.readBigUInt64LE(0));
    await fh.close();
    const bytes = await readFile(path);
    expect(bytes.length).toBe(size);
    expect(await refusal(resealed(bytes))).toBe(
      'no `key` bucket: this bbolt database is not an etcd v3 data file',
    );
  });

  it('key bucket entries that are not etcd revisions', async () => {
    const path = join(dir, 'badkey.db');
    const fh = await open(path, 'w+');
    const w = new BoltPageWriter(fh, PAGE);
    const key = await writeBucket(w, [{ key: Buffer.from('/registry/x'), value: Buffer.from('v') }], true);
    const root = await writeBucket(w, [{ key: Buffer.from('key'), value: key, bucket: true }], false);
    await w.finish(root.readBigUInt64LE(0));
    await fh.close();
    const bytes = await readFile(path);
    await expect(refusal(resealed(bytes))).resolves.toBe(
      'key bucket: entry 2f72656769737472792f78 is not a revision',
    );
  });
});
