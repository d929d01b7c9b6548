import { open, type FileHandle } from 'node:fs/promises';
import { SnapshotFormatError } from '../errors';
import { readAt, sha256Prefix } from './io';
import {
  BRANCH_PAGE,
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  decodeMeta,
  ELEMENT_SIZE,
  Entry,
  FORMAT_VERSION,
  LEAF_PAGE,
  MAGIC,
  MAX_PAGE_SIZE,
  Meta,
  META_PAGE,
  META_SIZE,
  metaChecksum,
  MIN_PAGE_SIZE,
  PAGE_HEADER_SIZE,
  readPageHeader,
} from './layout';

/** `etcdctl snapshot save` appends sha256(db); a file carries it when its size is 32 past a 512 multiple. */
const TRAILER_SIZE = 32;
const TRAILER_ALIGN = 512;
/** Deeper than any real bbolt tree; reaching it means a page refers back to an ancestor. */
const MAX_DEPTH = 32;
/**
 * Read in one go when pages are read in file order, as the leaves of a written-out bucket mostly are:
 * one read per page costs more in the round trip to the file system thread than in copying.
 */
const READ_AHEAD = 1 << 20;

/**
 * Reads a bbolt file page by page with positional reads, never the whole file: only the pages on the
 * current root-to-leaf path are in memory. Snapshots from `etcdctl snapshot save` contain stale pages
 * and overflow continuations without headers, so pages are only reached by following the tree.
 */
export class BoltReader {
  /** The last block read ahead; a fresh buffer each time, so an interleaved read never sees it change. */
  private ahead: { position: number; bytes: Buffer } | undefined;
  /** Where the last page read ended: a read starting there is sequential. */
  private lastEnd = -1;

  private constructor(
    private readonly fh: FileHandle,
    private readonly name: string,
    readonly meta: Meta,
    readonly pageSize: number,
    private readonly pages: bigint,
    /** Bytes covered by the sha256 trailer, or undefined when the file has none. */
    private readonly trailerAt: number | undefined,
  ) {}

  /** Opens and checks both meta pages and the file size against them; does not hash (see verifyTrailer). */
  static async open(path: string): Promise<BoltReader> {
    const fh = await open(path, 'r');
    try {
      const fail = (msg: string) => new SnapshotFormatError(`${path}: ${msg}`);
      const size = (await fh.stat()).size;
      const head = Buffer.alloc(PAGE_HEADER_SIZE + META_SIZE);
      if ((await readAt(fh, head, head.length, 0)) < head.length) {
        throw fail(`not a bbolt database: ${size} bytes is too short for a meta page`);
      }
      const meta0 = checkMeta(head, 0, fail, size);
      const pageSize = meta0.pageSize;
      if (size < 2 * pageSize) {
        throw fail(`truncated: ${size} bytes cannot hold the two ${pageSize}-byte meta pages`);
      }
      await readAt(fh, head, head.length, pageSize);
      const h1 = readPageHeader(head);
      if (h1.flags !== META_PAGE || head.readUInt32LE(PAGE_HEADER_SIZE) !== MAGIC) {
        throw fail(
          `no meta page 1 at offset ${pageSize}: the page size in meta page 0 is wrong, or meta page 1 is damaged`,
        );
      }
      const meta1 = checkMeta(head, 1, fail, size);
      if (meta1.pageSize !== pageSize) {
        throw fail(`wrong page size: meta page 0 says ${pageSize} bytes, meta page 1 says ${meta1.pageSize}`);
      }
      // Both metas are valid in a file written in one go; bbolt uses the newer one.
      const meta = meta1.txid > meta0.txid ? meta1 : meta0;

      const trailerAt = size % TRAILER_ALIGN === TRAILER_SIZE ? size - TRAILER_SIZE : undefined;
      const dbBytes = BigInt(trailerAt ?? size);
      if (meta.pgid < 3n) {
        throw fail(`meta page says the database has ${meta.pgid} pages, fewer than bbolt ever writes`);
      }
      const needed = meta.pgid * BigInt(pageSize);
      if (dbBytes < needed) {
        throw fail(
          `truncated: the meta page says ${meta.pgid} pages of ${pageSize} bytes (${needed} bytes), ` +
            `but the file holds ${dbBytes} bytes${trailerAt === undefined ? '' : ' before its sha256 trailer'}`,
        );
      }
      if (meta.root < 2n || meta.root >= meta.pgid) {
        throw fail(
          `the root bucket's page ${meta.root} is outside the database (pages 2 to ${meta.pgid - 1n})`,
        );
      }
      return new BoltReader(fh, path, meta, pageSize, meta.pgid, trailerAt);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get hasTrailer(): boolean {
    return this.trailerAt !== undefined;
  }

  /** Checks the sha256 trailer against the database bytes, read in a stream. No-op without a trailer. */
  async verifyTrailer(): Promise<void> {
    if (this.trailerAt === undefined) return;
    const stored = Buffer.alloc(TRAILER_SIZE);
    await readAt(this.fh, stored, TRAILER_SIZE, this.trailerAt);
    const actual = await sha256Prefix(this.fh, this.trailerAt);
    if (!actual.equals(stored)) {
      throw this.fail(
        `bad sha256 trailer: the file says ${stored.toString('hex')}, its ${this.trailerAt} database bytes hash to ${actual.toString('hex')}`,
      );
    }
  }

  /** The root bucket's value as a parent would store it: its page id and sequence. */
  rootBucket(): Buffer {
    const b = Buffer.alloc(BUCKET_HEADER_SIZE);
    b.writeBigUInt64LE(this.meta.root, 0);
    return b;
  }

  /** Every key/value of a bucket in key order. Entries share no memory with the reader's pages. */
  async *entries(bucket: Buffer, name: string): AsyncGenerator<Entry> {
    for await (const leaf of this.leaves(bucket, name)) yield* leaf;
  }

  /** The same entries a leaf page at a time: far fewer async steps than one per entry on large buckets. */
  async *leaves(bucket: Buffer, name: string): AsyncGenerator<Entry[]> {
    const root = this.bucketRoot(bucket, name);
    if (root === 0n) {
      yield this.elements(this.inlinePage(bucket, name), `inline bucket ${name}`);
    } else {
      yield* this.walk(root, name, 0);
    }
  }

  /** How many entries a bucket holds, from its leaf pages' headers: no entry is decoded or copied. */
  async count(bucket: Buffer, name: string): Promise<number> {
    const root = this.bucketRoot(bucket, name);
    if (root === 0n) return readPageHeader(this.inlinePage(bucket, name)).count;
    return this.countUnder(root, name, 0);
  }

  /** The bucket's last entry (highest key), found by descending the rightmost path only. */
  async lastEntry(bucket: Buffer, name: string): Promise<Entry | undefined> {
    let root = this.bucketRoot(bucket, name);
    if (root === 0n) return this.lastElement(this.inlinePage(bucket, name), `inline bucket ${name}`);
    for (let depth = 0; ; depth++) {
      if (depth > MAX_DEPTH)
        throw this.fail(`bucket ${name}: the tree is deeper than ${MAX_DEPTH} levels (a cycle?)`);
      const page = await this.readPage(root, name);
      const h = readPageHeader(page);
      if (h.flags === LEAF_PAGE) return this.lastElement(page, `page ${root}`);
      if (h.count === 0) throw this.fail(`page ${root} (bucket ${name}) is an empty branch page`);
      root = this.branchChild(page, h.count - 1, root);
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  fail(msg: string): SnapshotFormatError {
    return new SnapshotFormatError(`${this.name}: ${msg}`);
  }

  private bucketRoot(bucket: Buffer, name: string): bigint {
    if (bucket.length < BUCKET_HEADER_SIZE)
      throw this.fail(`bucket ${name}: its header is ${bucket.length} bytes`);
    const root = bucket.readBigUInt64LE(0);
    if (root !== 0n && (root < 2n || root >= this.pages)) {
      throw this.fail(
        `bucket ${name}: root page ${root} is outside the database (pages 2 to ${this.pages - 1n})`,
      );
    }
    return root;
  }

  private inlinePage(bucket: Buffer, name: string): Buffer {
    const page = bucket.subarray(BUCKET_HEADER_SIZE);
    if (page.length < PAGE_HEADER_SIZE || readPageHeader(page).flags !== LEAF_PAGE) {
      throw this.fail(`inline bucket ${name} does not hold a leaf page`);
    }
    return page;
  }

  private async *walk(pgid: bigint, name: string, depth: number): AsyncGenerator<Entry[]> {
    if (depth > MAX_DEPTH)
      throw this.fail(`bucket ${name}: the tree is deeper than ${MAX_DEPTH} levels (a cycle?)`);
    const page = await this.readPage(pgid, name);
    const h = readPageHeader(page);
    if (h.flags === LEAF_PAGE) {
      yield this.elements(page, `page ${pgid}`);
      return;
    }
    for (let i = 0; i < h.count; i++) yield* this.walk(this.branchChild(page, i, pgid), name, depth + 1);
  }

  private async countUnder(pgid: bigint, name: string, depth: number): Promise<number> {
    if (depth > MAX_DEPTH)
      throw this.fail(`bucket ${name}: the tree is deeper than ${MAX_DEPTH} levels (a cycle?)`);
    const page = await this.readPage(pgid, name);
    const h = readPageHeader(page);
    if (h.flags === LEAF_PAGE) return h.count;
    let n = 0;
    for (let i = 0; i < h.count; i++)
      n += await this.countUnder(this.branchChild(page, i, pgid), name, depth + 1);
    return n;
  }

  /** A branch or leaf page with its overflow pages, after checking it is one. */
  private async readPage(pgid: bigint, bucket: string): Promise<Buffer> {
    const where = `page ${pgid} (bucket ${bucket})`;
    if (pgid < 2n || pgid >= this.pages)
      throw this.fail(`${where} is outside the database (pages 2 to ${this.pages - 1n})`);
    const position = Number(pgid) * this.pageSize;
    // Unzeroed is fine: a short read is refused below, so every byte used comes from the file.
    const first = Buffer.allocUnsafe(this.pageSize);
    if ((await this.read(first, this.pageSize, position)) < this.pageSize) {
      throw this.fail(`truncated: ${where} is past the end of the file`);
    }
    const h = readPageHeader(first);
    if (h.id !== pgid) throw this.fail(`${where}: its header says page ${h.id}`);
    if (h.flags !== BRANCH_PAGE && h.flags !== LEAF_PAGE) {
      throw this.fail(`${where}: expected a branch or leaf page, found flags 0x${h.flags.toString(16)}`);
    }
    if (h.overflow === 0) return first;
    if (pgid + BigInt(h.overflow) >= this.pages) {
      throw this.fail(
        `${where}: its ${h.overflow} overflow pages run past the database's ${this.pages} pages`,
      );
    }
    const page = Buffer.allocUnsafe((h.overflow + 1) * this.pageSize);
    first.copy(page);
    const rest = page.length - this.pageSize;
    if ((await this.read(page.subarray(this.pageSize), rest, position + this.pageSize)) < rest) {
      throw this.fail(`truncated: the overflow of ${where} is past the end of the file`);
    }
    return page;
  }

  /** readAt, served from a block read ahead while reads are sequential; random reads stay page-sized. */
  private async read(buf: Buffer, length: number, position: number): Promise<number> {
    const sequential = position === this.lastEnd;
    this.lastEnd = position + length;
    const ahead = this.ahead;
    if (ahead && position >= ahead.position && position + length <= ahead.position + ahead.bytes.length) {
      ahead.bytes.copy(buf, 0, position - ahead.position, position - ahead.position + length);
      return length;
    }
    if (!sequential || length >= READ_AHEAD) return readAt(this.fh, buf, length, position);
    const bytes = Buffer.allocUnsafe(READ_AHEAD);
    const got = await readAt(this.fh, bytes, READ_AHEAD, position);
    this.ahead = { position, bytes: bytes.subarray(0, got) };
    return bytes.copy(buf, 0, 0, Math.min(length, got));
  }

  private branchChild(page: Buffer, i: number, pgid: bigint): bigint {
    const at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    if (at + ELEMENT_SIZE > page.length)
      throw this.fail(`page ${pgid}: branch element ${i} lies outside the page`);
    return page.readBigUInt64LE(at + 8);
  }

  private elements(page: Buffer, where: string): Entry[] {
    const { count } = readPageHeader(page);
    const out: Entry[] = [];
    for (let i = 0; i < count; i++) out.push(this.element(page, i, where));
    return out;
  }

  private lastElement(page: Buffer, where: string): Entry | undefined {
    const { count } = readPageHeader(page);
    return count === 0 ? undefined : this.element(page, count - 1, where);
  }

  private element(page: Buffer, i: number, where: string): Entry {
    const at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    if (at + ELEMENT_SIZE > page.length) throw this.fail(`${where}: leaf element ${i} lies outside the page`);
    const flags = page.readUInt32LE(at);
    const start = at + page.readUInt32LE(at + 4);
    const ksize = page.readUInt32LE(at + 8);
    const vsize = page.readUInt32LE(at + 12);
    if (start + ksize + vsize > page.length)
      throw this.fail(`${where}: leaf element ${i} points past the page`);
    // One private copy per entry: a caller keeping a key or value must not keep the whole page alive,
    // nor a slab of Node's shared Buffer pool full of other entries.
    const own = Buffer.allocUnsafeSlow(ksize + vsize);
    page.copy(own, 0, start, start + ksize + vsize);
    return {
      key: own.subarray(0, ksize),
      value: own.subarray(ksize),
      bucket: (flags & BUCKET_LEAF_FLAG) !== 0,
    };
  }
}

/** Validates the meta struct of meta page `id` in `head` (page header + meta) the way bbolt does. */
function checkMeta(head: Buffer, id: 0 | 1, fail: (msg: string) => SnapshotFormatError, size: number): Meta {
  const h = readPageHeader(head);
  const m = decodeMeta(head, PAGE_HEADER_SIZE);
  if (m.magic !== MAGIC) {
    // A page that at least claims to be bbolt's meta page is a damaged database, anything else is not one.
    if (id === 0 && !(h.flags === META_PAGE && h.id === 0n)) {
      throw fail(`not a bbolt database: no bbolt meta page at the start of the ${size}-byte file`);
    }
    throw fail(`bad magic in meta page ${id}: 0x${m.magic.toString(16)} instead of 0x${MAGIC.toString(16)}`);
  }
  if (m.version !== FORMAT_VERSION) {
    throw fail(
      `unsupported bbolt version ${m.version} in meta page ${id} (only version ${FORMAT_VERSION} is known)`,
    );
  }
  // bbolt accepts a zero checksum: files from before checksums were written have one.
  if (m.checksum !== 0n && m.checksum !== metaChecksum(head, PAGE_HEADER_SIZE)) {
    throw fail(
      `bad meta checksum in meta page ${id}: stored 0x${m.checksum.toString(16)}, computed 0x${metaChecksum(head, PAGE_HEADER_SIZE).toString(16)}`,
    );
  }
  if (!(
    m.pageSize >= MIN_PAGE_SIZE &&
    m.pageSize <= MAX_PAGE_SIZE &&
    (m.pageSize & (m.pageSize - 1)) === 0
  )) {
    throw fail(
      `unsupported page size ${m.pageSize} in meta page ${id} (expected a power of two from ${MIN_PAGE_SIZE} to ${MAX_PAGE_SIZE})`,
    );
  }
  return m;
}
