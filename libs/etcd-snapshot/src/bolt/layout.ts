/**
 * On-disk layout of bbolt files (format version 2, as used by etcd 3.4 to 3.6).
 *
 * There is no bbolt library for JavaScript on npm, so kubetime reads and writes the format itself. Only
 * the parts a snapshot needs are here: pages, meta pages, leaf and branch elements and bucket headers.
 * All integers are little-endian (bbolt writes its structs in host order, and every etcd platform is LE).
 */

export const MAGIC = 0xed0cdaed;
export const FORMAT_VERSION = 2;
/** etcd on amd64 uses the OS page size; any power of two in this range is a page size bbolt could have used. */
export const DEFAULT_PAGE_SIZE = 4096;
export const MIN_PAGE_SIZE = 1024;
export const MAX_PAGE_SIZE = 65536;

export const PAGE_HEADER_SIZE = 16;
export const ELEMENT_SIZE = 16;
export const BUCKET_HEADER_SIZE = 16;
/** The meta struct that follows the page header: magic..txid is 56 bytes, then the checksum. */
export const META_SIZE = 64;
const META_CHECKSUMMED = 56;

export const BRANCH_PAGE = 0x01;
export const LEAF_PAGE = 0x02;
export const META_PAGE = 0x04;
export const BUCKET_LEAF_FLAG = 0x01;

/** "Freelist not synced": etcd opens bbolt with NoFreelistSync, so bbolt rebuilds it by walking the tree. */
export const NO_FREELIST = 0xffffffffffffffffn;

export interface PageHeader {
  id: bigint;
  flags: number;
  count: number;
  overflow: number;
}

export function readPageHeader(buf: Buffer, at = 0): PageHeader {
  return {
    id: buf.readBigUInt64LE(at),
    flags: buf.readUInt16LE(at + 8),
    count: buf.readUInt16LE(at + 10),
    overflow: buf.readUInt32LE(at + 12),
  };
}

export function writePageHeader(buf: Buffer, h: PageHeader, at = 0): void {
  buf.writeBigUInt64LE(h.id, at);
  buf.writeUInt16LE(h.flags, at + 8);
  buf.writeUInt16LE(h.count, at + 10);
  buf.writeUInt32LE(h.overflow, at + 12);
}

export interface Meta {
  magic: number;
  version: number;
  pageSize: number;
  flags: number;
  root: bigint;
  sequence: bigint;
  freelist: bigint;
  /** High-water mark: the number of pages in the database. */
  pgid: bigint;
  txid: bigint;
  checksum: bigint;
}

/** Parses the meta struct that starts at `at` (just after a page header). */
export function decodeMeta(buf: Buffer, at: number): Meta {
  return {
    magic: buf.readUInt32LE(at),
    version: buf.readUInt32LE(at + 4),
    pageSize: buf.readUInt32LE(at + 8),
    flags: buf.readUInt32LE(at + 12),
    root: buf.readBigUInt64LE(at + 16),
    sequence: buf.readBigUInt64LE(at + 24),
    freelist: buf.readBigUInt64LE(at + 32),
    pgid: buf.readBigUInt64LE(at + 40),
    txid: buf.readBigUInt64LE(at + 48),
    checksum: buf.readBigUInt64LE(at + 56),
  };
}

/** Checksum bbolt stores in a meta page: FNV-1a 64 over the fields before the checksum. */
export function metaChecksum(buf: Buffer, at: number): bigint {
  return fnv64a(buf.subarray(at, at + META_CHECKSUMMED));
}

/** A whole meta page (header + meta), checksum filled in. */
export function encodeMetaPage(
  pageSize: number,
  pageId: 0 | 1,
  m: Omit<Meta, 'magic' | 'version' | 'pageSize' | 'flags' | 'checksum'>,
): Buffer {
  const page = Buffer.alloc(pageSize);
  writePageHeader(page, { id: BigInt(pageId), flags: META_PAGE, count: 0, overflow: 0 });
  const at = PAGE_HEADER_SIZE;
  page.writeUInt32LE(MAGIC, at);
  page.writeUInt32LE(FORMAT_VERSION, at + 4);
  page.writeUInt32LE(pageSize, at + 8);
  page.writeUInt32LE(0, at + 12);
  page.writeBigUInt64LE(m.root, at + 16);
  page.writeBigUInt64LE(m.sequence, at + 24);
  page.writeBigUInt64LE(m.freelist, at + 32);
  page.writeBigUInt64LE(m.pgid, at + 40);
  page.writeBigUInt64LE(m.txid, at + 48);
  page.writeBigUInt64LE(metaChecksum(page, at), at + 56);
  return page;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64 = 0xffffffffffffffffn;

export function fnv64a(data: Uint8Array): bigint {
  let h = FNV_OFFSET;
  for (const b of data) h = ((h ^ BigInt(b)) * FNV_PRIME) & U64;
  return h;
}

/** A bucket's value in its parent: root page id (0 = inline, the page follows) and sequence. */
export function encodeBucketHeader(root: bigint, sequence = 0n): Buffer {
  const b = Buffer.alloc(BUCKET_HEADER_SIZE);
  b.writeBigUInt64LE(root, 0);
  b.writeBigUInt64LE(sequence, 8);
  return b;
}

export interface Entry {
  key: Buffer;
  value: Buffer;
  /** The value is a bucket header (plus an inline page when its root is 0). */
  bucket?: boolean;
}

/** Bytes an entry takes in a leaf page: its element plus key and value. */
export function leafEntrySize(e: Entry): number {
  return ELEMENT_SIZE + e.key.length + e.value.length;
}

/**
 * Lays out a leaf page: header, one element per entry, then each key followed by its value. Element
 * positions are relative to the element itself. The result spans as many pages as it needs; the
 * header's overflow counts the extra ones (continuation pages carry no header).
 */
export function encodeLeafPage(entries: readonly Entry[], pageSize: number, id: bigint): Buffer {
  let size = PAGE_HEADER_SIZE;
  for (const e of entries) size += leafEntrySize(e);
  // An inline page (pageSize 0) is stored at its exact size inside its parent's value.
  const pages = pageSize === 0 ? 0 : Math.ceil(size / pageSize);
  const buf = Buffer.alloc(pageSize === 0 ? size : pages * pageSize);
  writePageHeader(buf, { id, flags: LEAF_PAGE, count: entries.length, overflow: Math.max(0, pages - 1) });
  let data = PAGE_HEADER_SIZE + entries.length * ELEMENT_SIZE;
  entries.forEach((e, i) => {
    const elem = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    buf.writeUInt32LE(e.bucket ? BUCKET_LEAF_FLAG : 0, elem);
    buf.writeUInt32LE(data - elem, elem + 4);
    buf.writeUInt32LE(e.key.length, elem + 8);
    buf.writeUInt32LE(e.value.length, elem + 12);
    data += e.key.copy(buf, data);
    data += e.value.copy(buf, data);
  });
  return buf;
}

export interface BranchRef {
  /** The first key of the child page. */
  key: Buffer;
  pgid: bigint;
}

export function branchEntrySize(r: BranchRef): number {
  return ELEMENT_SIZE + r.key.length;
}

export function encodeBranchPage(refs: readonly BranchRef[], pageSize: number, id: bigint): Buffer {
  let size = PAGE_HEADER_SIZE;
  for (const r of refs) size += branchEntrySize(r);
  const pages = Math.ceil(size / pageSize);
  const buf = Buffer.alloc(pages * pageSize);
  writePageHeader(buf, { id, flags: BRANCH_PAGE, count: refs.length, overflow: pages - 1 });
  let data = PAGE_HEADER_SIZE + refs.length * ELEMENT_SIZE;
  refs.forEach((r, i) => {
    const elem = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    buf.writeUInt32LE(data - elem, elem);
    buf.writeUInt32LE(r.key.length, elem + 4);
    buf.writeBigUInt64LE(r.pgid, elem + 8);
    data += r.key.copy(buf, data);
  });
  return buf;
}
