import type { FileHandle } from 'node:fs/promises';
import {
  BranchRef,
  branchEntrySize,
  encodeBranchPage,
  encodeBucketHeader,
  encodeLeafPage,
  encodeMetaPage,
  Entry,
  leafEntrySize,
  NO_FREELIST,
  PAGE_HEADER_SIZE,
} from './layout';
import { writeFully } from './io';

/** Consecutive pages are gathered into one positional write of about this size. */
const WRITE_BATCH_BYTES = 1 << 20;
/** Branch keys are packed into chunks of this size. */
const KEY_CHUNK_BYTES = 1 << 16;

/**
 * Holds the first key of every page until the branch levels are built. Keys are copied into chunks of
 * their own: a small Buffer copy would come from Node's shared 8 KB pool and keep alive the whole slab,
 * and with it the values written long ago, which made memory grow with the file.
 */
class KeyArena {
  private chunk = Buffer.allocUnsafeSlow(0);
  private used = 0;

  copy(key: Buffer): Buffer {
    if (this.used + key.length > this.chunk.length) {
      this.chunk = Buffer.allocUnsafeSlow(Math.max(KEY_CHUNK_BYTES, key.length));
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + key.length);
    key.copy(out);
    this.used += key.length;
    return out;
  }
}

/**
 * Appends pages to a new bbolt file from page 2 on; pages 0 and 1 (the metas) are written last, once the
 * root is known. Pages go to disk in batches as they are produced, so memory does not grow with the file.
 */
export class BoltPageWriter {
  private nextPgid = 2;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private batchStart = 2;

  constructor(
    private readonly fh: FileHandle,
    readonly pageSize: number,
  ) {}

  /** Gives `page` (a whole number of pages, header filled in but its id) the next page id. */
  async append(page: Buffer): Promise<bigint> {
    const pgid = this.nextPgid;
    page.writeBigUInt64LE(BigInt(pgid), 0);
    this.nextPgid += page.length / this.pageSize;
    this.batch.push(page);
    this.batchBytes += page.length;
    if (this.batchBytes >= WRITE_BATCH_BYTES) await this.flush();
    return BigInt(pgid);
  }

  /** Writes the pending pages, then both meta pages; returns the database size in bytes. */
  async finish(root: bigint): Promise<number> {
    await this.flush();
    const pgid = BigInt(this.nextPgid);
    // Two valid metas with the same root, like bbolt's WriteTo: bbolt opens the one with the higher txid
    // and its next commit overwrites the other.
    for (const id of [0, 1] as const) {
      const meta = encodeMetaPage(this.pageSize, id, {
        root,
        sequence: 0n,
        freelist: NO_FREELIST,
        pgid,
        txid: BigInt(2 - id),
      });
      await writeFully(this.fh, meta, id * this.pageSize);
    }
    return this.nextPgid * this.pageSize;
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    let position = this.batchStart * this.pageSize;
    const { bytesWritten } = await this.fh.writev(this.batch, position);
    position += bytesWritten;
    if (bytesWritten < this.batchBytes) {
      // A short vectored write: finish it buffer by buffer.
      await writeFully(this.fh, Buffer.concat(this.batch).subarray(bytesWritten), position);
    }
    this.batchStart = this.nextPgid;
    this.batch = [];
    this.batchBytes = 0;
  }
}

/**
 * Bulk-loads one bucket from entries in strictly increasing key order and returns its value for the
 * parent bucket. Leaf pages are written as they fill; only the first key of each page is kept, to build
 * the branch levels above them afterwards. A bucket that ends up as one small leaf without sub-buckets
 * is stored inline in its parent, as bbolt itself does (at most a quarter page). Entries may come in
 * batches (arrays), one asynchronous step per batch.
 */
export async function writeBucket(
  w: BoltPageWriter,
  entries: AsyncIterable<Entry | readonly Entry[]> | Iterable<Entry>,
  allowInline: boolean,
): Promise<Buffer> {
  const maxInline = allowInline ? w.pageSize / 4 : -1;
  let leaf: Entry[] = [];
  let leafSize = PAGE_HEADER_SIZE;
  let refs: BranchRef[] | undefined;
  let hasSubBucket = false;
  let previous: Buffer | undefined;
  const keys = new KeyArena();

  const flushLeaf = async () => {
    const pgid = await w.append(encodeLeafPage(leaf, w.pageSize, 0n));
    (refs ??= []).push({ key: keys.copy(leaf[0].key), pgid });
    leaf = [];
    leafSize = PAGE_HEADER_SIZE;
  };

  for await (const item of entries) {
    for (const e of isBatch(item) ? item : [item]) {
      if (previous && Buffer.compare(previous, e.key) >= 0) {
        throw new Error(
          `bucket keys must be strictly increasing: ${hex(e.key)} comes after ${hex(previous)}`,
        );
      }
      previous = e.key;
      hasSubBucket ||= e.bucket === true;
      const size = leafEntrySize(e);
      // Start a new page when this entry would not fit; an entry too big for an empty page gets overflow pages.
      if (leaf.length > 0 && leafSize + size > w.pageSize) await flushLeaf();
      leaf.push(e);
      leafSize += size;
    }
  }

  if (!refs && !hasSubBucket && leafSize <= maxInline) {
    return Buffer.concat([encodeBucketHeader(0n), encodeLeafPage(leaf, 0, 0n)]);
  }
  if (!refs && leaf.length === 0) {
    // An empty bucket that may not be inline (the root bucket) still needs a page.
    return encodeBucketHeader(await w.append(encodeLeafPage([], w.pageSize, 0n)));
  }
  if (leaf.length > 0) await flushLeaf();
  return encodeBucketHeader(await writeBranches(w, refs!));
}

function isBatch(item: Entry | readonly Entry[]): item is readonly Entry[] {
  return Array.isArray(item);
}

/** Builds branch levels over the child pages until a single root page is left; returns its id. */
async function writeBranches(w: BoltPageWriter, children: BranchRef[]): Promise<bigint> {
  let level = children;
  while (level.length > 1) {
    const parents: BranchRef[] = [];
    let page: BranchRef[] = [];
    let size = PAGE_HEADER_SIZE;
    const flush = async () => {
      parents.push({ key: page[0].key, pgid: await w.append(encodeBranchPage(page, w.pageSize, 0n)) });
      page = [];
      size = PAGE_HEADER_SIZE;
    };
    for (const ref of level) {
      const s = branchEntrySize(ref);
      if (page.length > 0 && size + s > w.pageSize) await flush();
      page.push(ref);
      size += s;
    }
    await flush();
    level = parents;
  }
  return level[0].pgid;
}

function hex(b: Buffer): string {
  return b.length > 40 ? `${b.subarray(0, 40).toString('hex')}...` : b.toString('hex');
}
