import type { BranchHead } from '@kubetime/event-store';
import type { Pool, PoolClient } from 'pg';

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
  return row.sealed ?? row.raw ?? Buffer.from(storageJson(row.object ?? 'null'), 'utf8');
}

/**
 * The compact JSON encoding the write path stored (`JSON.stringify` of the object as jsonb hands it
 * back), from jsonb's text output without building the object: jsonb prints the same keys in the
 * same order and escapes strings as JSON.stringify does, and differs only by a space after each `:`
 * and `,` between tokens. Where more would differ, the body is parsed and re-encoded: keys that are
 * array indices (a JavaScript object puts them first), and numbers JavaScript may print otherwise
 * (jsonb prints every digit and never an exponent: long numbers and ones below 1e-6).
 */
export function storageJson(jsonb: string): string {
  let compact = '';
  let copiedUpTo = 0;
  for (let i = 0; i < jsonb.length; i++) {
    const c = jsonb.charCodeAt(i);
    if (c === QUOTE) {
      const close = closingQuote(jsonb, i);
      if (jsonb.charCodeAt(close + 1) === COLON && isDigits(jsonb, i + 1, close)) return reencoded(jsonb);
      i = close;
    } else if ((c === COLON || c === COMMA) && jsonb.charCodeAt(i + 1) === SPACE) {
      compact += jsonb.slice(copiedUpTo, i + 1);
      copiedUpTo = i + 2;
      i++;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      let end = i + 1;
      while (end < jsonb.length && NUMBER_CHAR.test(jsonb[end])) end++;
      const number = jsonb.slice(i, end);
      if (number.length > 15 || number.includes('0.000000')) return reencoded(jsonb);
      i = end - 1;
    }
  }
  return copiedUpTo ? compact + jsonb.slice(copiedUpTo) : jsonb;
}

function reencoded(jsonb: string): string {
  return JSON.stringify(JSON.parse(jsonb));
}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const SPACE = 32;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;
const NUMBER_CHAR = /[-+.0-9eE]/;

function isDigits(text: string, from: number, to: number): boolean {
  if (to === from) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) return false;
  }
  return true;
}

/** Index of the quote that closes the string opened at `open` (one not escaped by a backslash). */
function closingQuote(json: string, open: number): number {
  for (let at = json.indexOf('"', open + 1); at !== -1; at = json.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (json.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
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
  /**
   * Set when the query returns exactly this many rows, at most FETCH: it runs as it is rather than
   * through a cursor, and fewer rows mean some were compacted away after they were chosen.
   */
  rows?: number;
}

/**
 * Runs queries inside one read-only REPEATABLE READ transaction and yields their rows through a
 * server-side cursor (those of known size directly), a page at a time, so bodies never pile up in memory (two
 * pages at most) and every query sees the same committed state. The next page is asked for before the
 * current one is handed out, so PostgreSQL and the network work while the consumer encodes.
 */
export async function* streamRows(pool: Pool, queries: RowQuery[]): AsyncGenerator<RawRow> {
  const client: PoolClient = await pool.connect();
  let failed: Error | undefined;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const run = (q: RowQuery) => {
      const page = client.query<RawRow>(q.sql, q.params);
      // Awaited on the next pass; if the consumer stops first, its failure must not go unhandled.
      page.catch(() => undefined);
      return page;
    };
    let prefetched: ReturnType<typeof run> | undefined;
    for (const [i, q] of queries.entries()) {
      if (q.rows !== undefined) {
        const { rows } = await (prefetched ?? run(q));
        if (rows.length !== q.rows) {
          throw new Error(
            `${q.rows - rows.length} of the ${q.rows} rows asked for are gone: a compaction ran after they were chosen; try again`,
          );
        }
        prefetched = queries[i + 1]?.rows !== undefined ? run(queries[i + 1]) : undefined;
        yield* rows;
        continue;
      }
      await client.query(`DECLARE rows_${i} NO SCROLL CURSOR FOR ${q.sql}`, q.params);
      const fetch = () => {
        const page = client.query<RawRow>(`FETCH ${FETCH} FROM rows_${i}`);
        // Awaited on the next pass; if the consumer stops first, its failure must not go unhandled.
        page.catch(() => undefined);
        return page;
      };
      // Bounded: each FETCH returns at most FETCH rows and the cursor ends with an empty page.
      for (let next = fetch(); ;) {
        const { rows } = await next;
        if (!rows.length) break;
        next = fetch();
        yield* rows;
      }
      await client.query(`CLOSE rows_${i}`);
    }
    await client.query('COMMIT');
  } catch (error) {
    failed = error as Error;
    throw error;
  } finally {
    // A consumer that stops early (or an error) leaves the transaction open: end it before reuse.
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(failed);
  }
}
