import type { BranchHead } from '@kubetime/event-store';
import { escapeLiteral, type Pool, type PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/**
 * The etcd view of the event log works on stored rows, never on decrypted events: a Secret's value
 * must leave as the `k8s:enc:` bytes kube-apiserver would have put in etcd, and re-sealing would
 * change them (fresh nonce) and put plaintext in this process's memory for nothing.
 */
export interface RawRow {
  branch_id: number;
  revision: string;
  key: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The jsonb body as PostgreSQL prints it (not parsed on the way: see storageJson). */
  object: string | null;
  sealed: Buffer | null;
  /** A value kept as the bytes it was imported as (see the event store's raw column). */
  raw: Buffer | null;
  create_revision: string;
  version: number;
}

export const RAW_COLUMNS =
  'branch_id, revision, key, type, object::text AS object, sealed, raw, create_revision, version';

/**
 * The value etcd would hold: sealed or raw bytes as stored, else kube-apiserver's JSON storage
 * encoding.
 */
export function etcdValue(row: RawRow): Buffer {
  return row.sealed ?? row.raw ?? storageJson(Buffer.from(row.object ?? 'null', 'utf8'));
}

/**
 * The compact JSON encoding the write path stored (`JSON.stringify` of the object as jsonb hands it
 * back), from jsonb's text output without building the object: jsonb prints the same keys in the
 * same order and escapes strings as JSON.stringify does, and differs only by a space after each `:`
 * and `,` between tokens. Where more would differ, the body is parsed and re-encoded: keys that are
 * array indices (a JavaScript object puts them first), and numbers JavaScript may print otherwise
 * (jsonb prints every digit and never an exponent: long numbers and ones below 1e-6).
 *
 * Works on the UTF-8 bytes as they arrive, in place: the result is `jsonb` itself or a shorter view of
 * it (the input is overwritten), or a new buffer where the body was re-encoded. A quote or backslash
 * byte never occurs inside a multi-byte character, and strings are skipped with the native byte search.
 */
export function storageJson(jsonb: Buffer): Buffer {
  const n = jsonb.length;
  let written = 0;
  for (let i = 0; i < n; i++) {
    const c = jsonb[i];
    if (c === QUOTE) {
      const close = closingQuote(jsonb, i);
      if (jsonb[close + 1] === COLON && isDigits(jsonb, i + 1, close)) return reencoded(jsonb, written, i);
      moveDown(jsonb, written, i, close + 1);
      written += close + 1 - i;
      i = close;
    } else if ((c === COLON || c === COMMA) && jsonb[i + 1] === SPACE) {
      jsonb[written++] = c;
      i++;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      let end = i + 1;
      while (end < n && isNumberByte(jsonb[end])) end++;
      if (end - i > 15 || hasTinyFraction(jsonb, i, end)) return reencoded(jsonb, written, i);
      moveDown(jsonb, written, i, end);
      written += end - i;
      i = end - 1;
    } else {
      jsonb[written++] = c;
    }
  }
  return written === n ? jsonb : jsonb.subarray(0, written);
}

/**
 * Moves b[from, to) down to `target` (<= from). Short runs byte by byte: a native copy costs more to
 * call than a few bytes cost to move.
 */
function moveDown(b: Buffer, target: number, from: number, to: number): void {
  if (target === from) return;
  if (to - from > 24) b.copyWithin(target, from, to);
  else for (let k = from; k < to; k++) b[target + k - from] = b[k];
}

/**
 * The body parsed and re-encoded, when compacting stopped at `from` with `[0, written)` compacted so
 * far: that prefix and the untouched rest are the same JSON as the original.
 */
function reencoded(jsonb: Buffer, written: number, from: number): Buffer {
  const text = jsonb.toString('utf8', 0, written) + jsonb.toString('utf8', from);
  return Buffer.from(JSON.stringify(JSON.parse(text)), 'utf8');
}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const SPACE = 32;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const LOWER_E = 101;
const UPPER_E = 69;
/** jsonb prints a number below 1e-6 with this run of zeros after the point; JavaScript uses an exponent. */
const TINY_FRACTION = Buffer.from('0.000000');

function isNumberByte(c: number): boolean {
  return (c >= ZERO && c <= NINE) || c === DOT || c === MINUS || c === PLUS || c === LOWER_E || c === UPPER_E;
}

/** Whether TINY_FRACTION occurs in [from, to), a number of at most 15 bytes. */
function hasTinyFraction(b: Buffer, from: number, to: number): boolean {
  for (let at = from; at + TINY_FRACTION.length <= to; at++) {
    let k = 0;
    while (k < TINY_FRACTION.length && b[at + k] === TINY_FRACTION[k]) k++;
    if (k === TINY_FRACTION.length) return true;
  }
  return false;
}

function isDigits(b: Buffer, from: number, to: number): boolean {
  if (to === from) return false;
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c < ZERO || c > NINE) return false;
  }
  return true;
}

/** Index of the quote that closes the string opened at `open` (one not escaped by a backslash). */
function closingQuote(json: Buffer, open: number): number {
  for (let at = json.indexOf(QUOTE, open + 1); at !== -1; at = json.indexOf(QUOTE, at + 1)) {
    let backslashes = 0;
    while (json[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  throw new SyntaxError('unterminated string in a jsonb body');
}

/** A byte range of keys as etcd states it: [from, to), to undefined meaning "no upper bound". */
export interface KeyRange {
  from: string;
  to?: string;
}

/**
 * SQL for the (branch, revision) ranges a branch sees: its own events after its fork point and its
 * ancestors' up to it, clipped to (after, upTo]. Parameters are appended to params.
 */
export function lineageClause(head: BranchHead, after: number, upTo: number, params: unknown[]): string {
  const parts: string[] = [];
  for (const s of head.lineage) {
    const lo = Math.max(s.after, after);
    const hi = Math.min(s.upTo, upTo);
    if (hi <= lo) continue;
    params.push(s.branchId, lo, hi);
    const n = params.length;
    parts.push(`(branch_id = $${n - 2} AND revision > $${n - 1} AND revision <= $${n})`);
  }
  return parts.length ? `(${parts.join(' OR ')})` : 'false';
}

export function rangeClause(range: KeyRange, params: unknown[]): string {
  params.push(range.from);
  let sql = `key >= $${params.length}`;
  if (range.to !== undefined) {
    params.push(range.to);
    sql += ` AND key < $${params.length}`;
  }
  return sql;
}

/**
 * Live keys at revision R (the latest event per key, unless it is a delete), as SQL ordered by `order`.
 * Postgres does the sorting, so callers can stream the result through a cursor.
 */
export function stateSql(
  head: BranchHead,
  revision: number,
  range: KeyRange,
  order: 'key' | 'revision',
  params: unknown[],
): string {
  return `SELECT live.* FROM (
            SELECT DISTINCT ON (key) ${RAW_COLUMNS} FROM events
             WHERE ${lineageClause(head, 0, revision, params)} AND ${rangeClause(range, params)}
             ORDER BY key, revision DESC) live
          WHERE type <> 'DELETED' ORDER BY ${order === 'key' ? 'key' : 'revision'}`;
}

/**
 * The rows at these revisions (ascending) of the branch's lineage, in revision order, as queries of at
 * most FETCH rows each. For the state at the head, whose revisions the in-memory head knows:
 * PostgreSQL then neither sorts the keyspace for DISTINCT ON nor spills it to disk. Each query bounds
 * the revision range as well as listing the revisions: without statistics (a freshly loaded table)
 * PostgreSQL 15 does not use `= ANY` of a thousand values in the primary-key index and reads the whole
 * branch for every query, while the range always bounds the index scan.
 */
export function rowsAtSql(head: BranchHead, revisions: Float64Array): RowQuery[] {
  const queries: RowQuery[] = [];
  let i = 0;
  while (i < revisions.length) {
    const segment = head.lineage.find((s) => revisions[i] > s.after && revisions[i] <= s.upTo);
    if (!segment) throw new Error(`revision ${revisions[i]} is outside the lineage of ${head.name}`);
    const chunk: number[] = [];
    for (; i < revisions.length && chunk.length < FETCH && revisions[i] <= segment.upTo; i++)
      chunk.push(revisions[i]);
    queries.push({
      sql: `SELECT ${RAW_COLUMNS} FROM events
             WHERE branch_id = $1 AND revision >= $2 AND revision <= $3 AND revision = ANY($4::bigint[])
             ORDER BY revision`,
      params: [segment.branchId, chunk[0], chunk[chunk.length - 1], chunk],
      rows: chunk.length,
    });
  }
  return queries;
}

/** Every event in (after, upTo] of the branch's lineage, in revision order. */
export function historySql(head: BranchHead, after: number, upTo: number, params: unknown[]): string {
  return `SELECT ${RAW_COLUMNS} FROM events WHERE ${lineageClause(head, after, upTo, params)} ORDER BY revision`;
}

const FETCH = 1000;

export interface RowQuery {
  sql: string;
  params: unknown[];
  /** Set when the query returns exactly this many rows: fewer mean some were compacted away after they were chosen. */
  rows?: number;
}

/** A row as the snapshot writer takes it: bytes where etcd has bytes, nothing decoded to text. */
export interface ExportRow {
  revision: number;
  key: Buffer;
  deleted: boolean;
  /** The jsonb body as PostgreSQL prints it, in UTF-8 (see storageJson). */
  object: Buffer | null;
  sealed: Buffer | null;
  raw: Buffer | null;
  createRevision: number;
  version: number;
}

/**
 * Runs queries inside one read-only REPEATABLE READ transaction, so every query sees the same
 * committed state, and streams their rows as `COPY ... TO STDOUT (FORMAT binary)`: the bodies arrive
 * as the bytes the snapshot holds, without `pg` turning each row into JavaScript strings, and the
 * connection is paused while the consumer lags (the stream's backpressure), so memory holds a socket
 * read or two whatever the number of rows. Rows come in batches, one per network read.
 */
export async function* streamRows(pool: Pool, queries: RowQuery[]): AsyncGenerator<ExportRow[]> {
  const client: PoolClient = await pool.connect();
  let failed: Error | undefined;
  let idle = true;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const q of queries) {
      const copy = client.query(
        copyTo(
          `COPY (SELECT revision, key, type = 'DELETED', object, sealed, raw, create_revision, version
                   FROM (${inlineParams(q.sql, q.params)}) q) TO STDOUT (FORMAT binary)`,
        ),
      );
      idle = false;
      const parser = new CopyBinaryRows();
      let count = 0;
      for await (const chunk of copy as AsyncIterable<Buffer>) {
        const rows = parser.push(chunk);
        count += rows.length;
        if (rows.length) yield rows;
      }
      parser.end();
      idle = true;
      if (q.rows !== undefined && count !== q.rows) {
        throw new Error(
          `${q.rows - count} of the ${q.rows} rows asked for are gone: a compaction ran after they were chosen; try again`,
        );
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    failed = error as Error;
    throw error;
  } finally {
    // A consumer that stops early leaves a COPY half read, which no later query could get past: the
    // connection is closed instead of reused. Otherwise an open transaction is ended before reuse.
    if (idle) await client.query('ROLLBACK').catch(() => undefined);
    client.release(
      failed ?? (idle ? undefined : new Error('a snapshot read stopped in the middle of a COPY')),
    );
  }
}

/**
 * COPY takes no bind parameters, so the queries' own are written into the SQL as literals: safe
 * integers as digits, arrays of them as array literals, strings quoted by `pg`'s escapeLiteral.
 */
function inlineParams(sql: string, params: unknown[]): string {
  return sql.replace(/\$(\d+)\b/g, (_, n: string) => {
    const value = params[Number(n) - 1];
    if (typeof value === 'string') return escapeLiteral(value);
    if (Array.isArray(value) && value.every(Number.isSafeInteger)) return `'{${value.join(',')}}'`;
    if (Number.isSafeInteger(value)) return String(value);
    throw new Error(`parameter $${n} (${typeof value}) has no literal form here`);
  });
}

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const COPY_FIELDS = 8;

/*
 * PostgreSQL's binary COPY format, parsed here because the maintained parser (pg-copy-streams-binary)
 * is not a dependency and builds a JavaScript value per field through its own stream stages; this
 * query's eight columns of known types need only length-prefixed slices and three integers.
 */
class CopyBinaryRows {
  private rest: Buffer | undefined;
  private headerRead = false;
  private ended = false;

  /** The whole rows in `chunk` (and what was left of the last one); their buffers point into the chunk. */
  push(chunk: Buffer): ExportRow[] {
    const b = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    let at = 0;
    if (!this.headerRead) {
      if (b.length < COPY_SIGNATURE.length + 8) {
        this.rest = b;
        return [];
      }
      if (!b.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE))
        throw new Error('not a binary COPY stream');
      at = COPY_SIGNATURE.length + 8 + b.readUInt32BE(COPY_SIGNATURE.length + 4);
      this.headerRead = true;
    }
    const rows: ExportRow[] = [];
    for (;;) {
      if (at + 2 > b.length) break;
      const fields = b.readInt16BE(at);
      if (fields === -1) {
        this.ended = true;
        at += 2;
        break;
      }
      if (fields !== COPY_FIELDS)
        throw new Error(`a binary COPY row has ${fields} fields, not ${COPY_FIELDS}`);
      const row = this.row(b, at + 2);
      if (!row) break;
      rows.push(row.row);
      at = row.next;
    }
    if (at < b.length) this.rest = b.subarray(at);
    return rows;
  }

  /** Checks that the stream ended with the trailer and nothing after it. */
  end(): void {
    if (!this.ended || this.rest) throw new Error('a binary COPY stream ended in the middle of a row');
  }

  private row(b: Buffer, from: number): { row: ExportRow; next: number } | undefined {
    const slices: (Buffer | null)[] = [];
    let at = from;
    for (let i = 0; i < COPY_FIELDS; i++) {
      if (at + 4 > b.length) return undefined;
      const length = b.readInt32BE(at);
      at += 4;
      if (length === -1) {
        slices.push(null);
        continue;
      }
      if (at + length > b.length) return undefined;
      slices.push(b.subarray(at, at + length));
      at += length;
    }
    const [revision, key, deleted, object, sealed, raw, createRevision, version] = slices;
    return {
      row: {
        revision: int8(revision!),
        key: key!,
        deleted: deleted![0] === 1,
        object,
        sealed,
        raw,
        createRevision: int8(createRevision!),
        version: version!.readInt32BE(0),
      },
      next: at,
    };
  }
}

/** A bigint column's 8 bytes; revisions stay below 2^53. */
function int8(b: Buffer): number {
  return b.readUInt32BE(0) * 2 ** 32 + b.readUInt32BE(4);
}
