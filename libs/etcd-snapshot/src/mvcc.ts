/**
 * etcd's MVCC records as stored in the `key`, `meta` and `lease` buckets. The messages are tiny proto3
 * structs, so they are encoded by hand rather than pulling in a protobuf runtime.
 */

/** 8-byte big-endian main revision, '_', 8-byte big-endian sub revision: byte order is revision order. */
export const REVISION_BYTES = 17;
const SEPARATOR = 0x5f; // '_'
const TOMBSTONE = 0x74; // 't'

export interface Revision {
  main: number;
  sub: number;
}

export function revisionKey(main: number, sub: number, tombstone = false): Buffer {
  const b = Buffer.alloc(tombstone ? REVISION_BYTES + 1 : REVISION_BYTES);
  b.writeBigUInt64BE(BigInt(main), 0);
  b[8] = SEPARATOR;
  b.writeBigUInt64BE(BigInt(sub), 9);
  if (tombstone) b[REVISION_BYTES] = TOMBSTONE;
  return b;
}

/** Undefined when `b` is not a revision key (wrong length, separator or marker). */
export function parseRevisionKey(b: Buffer): (Revision & { tombstone: boolean }) | undefined {
  const tombstone = b.length === REVISION_BYTES + 1 && b[REVISION_BYTES] === TOMBSTONE;
  if ((b.length !== REVISION_BYTES && !tombstone) || b[8] !== SEPARATOR) return undefined;
  const main = b.readBigUInt64BE(0);
  const sub = b.readBigUInt64BE(9);
  if (main > BigInt(Number.MAX_SAFE_INTEGER) || sub > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { main: Number(main), sub: Number(sub), tombstone };
}

/** mvccpb.KeyValue; zero fields are absent on the wire (proto3), so they read back as 0 or empty. */
export interface KeyValue {
  key: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Buffer;
  lease: bigint;
}

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const FIXED32 = 5;

/** Sized first and written into one buffer: a snapshot encodes one per key. */
export function encodeKeyValue(kv: Partial<KeyValue> & { key: Buffer }): Buffer {
  const fields: [number, number | bigint | Buffer | undefined][] = [
    [1, kv.key],
    [2, kv.createRevision],
    [3, kv.modRevision],
    [4, kv.version],
    [5, kv.value],
    [6, kv.lease === undefined ? undefined : BigInt.asUintN(64, kv.lease)],
  ];
  let size = 0;
  for (const [, v] of fields) {
    if (Buffer.isBuffer(v)) size += v.length ? 1 + varintSize(v.length) + v.length : 0;
    else if (v) size += 1 + varintSize(v);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [field, v] of fields) {
    if (Buffer.isBuffer(v)) {
      if (!v.length) continue;
      out[at++] = (field << 3) | BYTES;
      at = writeVarint(out, at, v.length);
      at += v.copy(out, at);
    } else if (v) {
      out[at++] = (field << 3) | VARINT;
      at = writeVarint(out, at, v);
    }
  }
  return out;
}

/** Throws a plain Error naming the problem; callers add where the record came from. */
export function decodeKeyValue(b: Buffer): KeyValue {
  const kv: KeyValue = {
    key: Buffer.alloc(0),
    createRevision: 0,
    modRevision: 0,
    version: 0,
    value: Buffer.alloc(0),
    lease: 0n,
  };
  let at = 0;
  while (at < b.length) {
    const tag = readVarint(b, at);
    at = tag.next;
    if (typeof tag.value !== 'number') throw new Error('a field tag is out of range');
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (wire === VARINT) {
      const v = readVarint(b, at);
      at = v.next;
      if (field === 2) kv.createRevision = safeNumber(v.value, 'create_revision');
      else if (field === 3) kv.modRevision = safeNumber(v.value, 'mod_revision');
      else if (field === 4) kv.version = safeNumber(v.value, 'version');
      else if (field === 6) kv.lease = BigInt.asIntN(64, BigInt(v.value));
    } else if (wire === BYTES) {
      const len = readVarint(b, at);
      const end = len.next + Number(len.value);
      if (typeof len.value !== 'number' || end > b.length) {
        throw new Error('a length-delimited field runs past the end');
      }
      const data = b.subarray(len.next, end);
      if (field === 1) kv.key = data;
      else if (field === 5) kv.value = data;
      at = end;
    } else if (wire === FIXED64 || wire === FIXED32) {
      at += wire === FIXED64 ? 8 : 4;
      if (at > b.length) throw new Error('a fixed-size field runs past the end');
    } else {
      throw new Error(`unknown protobuf wire type ${wire}`);
    }
  }
  return kv;
}

/** leasepb.Lease as etcd stores it in the `lease` bucket: ID and TTL (seconds). */
export function encodeLease(id: bigint, ttl: number): Buffer {
  const out: number[] = [(1 << 3) | VARINT];
  pushVarint(out, BigInt.asUintN(64, id));
  if (ttl !== 0) {
    out.push((2 << 3) | VARINT);
    pushVarint(out, BigInt.asUintN(64, BigInt(ttl)));
  }
  return Buffer.from(out);
}

/** The `lease` bucket key: the ID as 8 big-endian bytes. */
export function leaseKey(id: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, id));
  return b;
}

export function u64be(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function varintSize(v: number | bigint): number {
  if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
    let size = 1;
    for (let n = v; n >= 0x80; n = Math.floor(n / 0x80)) size++;
    return size;
  }
  let size = 1;
  for (let n = BigInt.asUintN(64, BigInt(v)); n >= 0x80n; n >>= 7n) size++;
  return size;
}

function writeVarint(out: Buffer, at: number, v: number | bigint): number {
  if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
    let n = v;
    while (n >= 0x80) {
      out[at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    out[at++] = n;
    return at;
  }
  let n = BigInt.asUintN(64, BigInt(v));
  while (n >= 0x80n) {
    out[at++] = Number(n & 0x7fn) | 0x80;
    n >>= 7n;
  }
  out[at++] = Number(n);
  return at;
}

function pushVarint(out: number[], v: bigint): void {
  // Plain numbers for values a double holds exactly (every revision); BigInt only beyond.
  if (v <= BigInt(Number.MAX_SAFE_INTEGER)) {
    let n = Number(v);
    while (n >= 0x80) {
      out.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    out.push(n);
    return;
  }
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/** A varint as a number when it has at most 7 bytes (below 2^49), else as a 64-bit bigint. */
function readVarint(b: Buffer, at: number): { value: number | bigint; next: number } {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (at + i >= b.length) throw new Error('a varint runs past the end');
    const byte = b[at + i];
    n += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value: n, next: at + i + 1 };
    scale *= 0x80;
  }
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= b.length) throw new Error('a varint runs past the end');
    const byte = b[at + i];
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if (byte < 0x80) return { value: BigInt.asUintN(64, value), next: at + i + 1 };
  }
  throw new Error('a varint is longer than 10 bytes');
}

function safeNumber(v: number | bigint, what: string): number {
  if (typeof v === 'number') return v;
  const signed = BigInt.asIntN(64, v);
  if (signed < 0n || signed > BigInt(Number.MAX_SAFE_INTEGER))
    throw new Error(`${what} ${signed} is out of range`);
  return Number(signed);
}
