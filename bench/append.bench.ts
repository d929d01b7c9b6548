import { Pool } from 'pg';
import { createPool, EventStore, migrate } from '@kubetime/event-store';
import {
  Figure,
  closedLoop,
  fmtMs,
  fmtRate,
  log,
  printTable,
  scratchDatabase,
  seconds,
  section,
} from './harness';
import { createIntent } from './payload';
import { cpuSeconds } from './processes';

/**
 * Figure 1: store.append throughput with many concurrent appenders, against the same rows written by
 * raw batched INSERTs into a table of the same shape in the same database, which is the ceiling any
 * append path over this schema can reach on this machine.
 */

const IN_FLIGHT = [64, 256];
const RAW_BATCH = 500;
const RAW_CONNECTIONS = [1, 2];
const MAX_EVENTS = 400_000;

/**
 * CPU spent by this process and by the PostgreSQL backends serving the scratch database over one
 * phase, per row written. Rates move with whatever else the two cores are doing; the CPU a row costs
 * moves much less, so before/after comparisons on a busy machine read it. Backends started during the
 * phase count from zero, which adds their connection start-up (a few milliseconds) to that phase.
 */
class CpuMeter {
  private node = process.cpuUsage();
  private backends = new Map<number, number>();

  private constructor(private readonly pool: Pool) {}

  static async start(pool: Pool): Promise<CpuMeter> {
    const meter = new CpuMeter(pool);
    for (const pid of await meter.backendPids()) meter.backends.set(pid, cpuSeconds(pid) ?? 0);
    meter.node = process.cpuUsage();
    return meter;
  }

  /** Microseconds per row: [this process, PostgreSQL backends]. */
  async perRow(rows: number): Promise<[number, number]> {
    const node = process.cpuUsage(this.node);
    let database = 0;
    for (const pid of await this.backendPids())
      database += (cpuSeconds(pid) ?? 0) - (this.backends.get(pid) ?? 0);
    return [(node.user + node.system) / rows, (database * 1e6) / rows];
  }

  private async backendPids(): Promise<number[]> {
    const { rows } = await this.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    return rows.map((r) => r.pid);
  }
}

/** Shared across raw runs: they all write into one table keyed by revision. */
let rawRevision = 0;

const COLUMNS = `branch_id, revision, key, api_group, api_version, resource, kind, namespace, name, uid,
  type, object, sealed, prev_revision, create_revision, version, actor, cause, request, recorded_at`;

/** The same statement shape the store uses for a batch, so only the path around it differs. */
const RAW_INSERT = `
  INSERT INTO raw_events (${COLUMNS})
  SELECT b, r, k, g, v, res, kind, ns, n, u, t, o::jsonb, s, p, c, ver, a, cause, req::jsonb, at
    FROM unnest($1::int[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::bigint[],
                $15::bigint[], $16::int[], $17::text[], $18::bigint[], $19::text[], $20::timestamptz[])
      AS x(b, r, k, g, v, res, kind, ns, n, u, t, o, s, p, c, ver, a, cause, req, at)`;

async function rawInsert(
  url: string,
  connections: number,
  ms: number,
): Promise<{ rate: number; rows: number; cpu: [number, number] }> {
  const pool = new Pool({ connectionString: url, max: connections });
  const meterPool = new Pool({ connectionString: url, max: 1 });
  try {
    const meter = await CpuMeter.start(meterPool);
    const result = await closedLoop(
      connections,
      { count: Math.ceil(MAX_EVENTS / RAW_BATCH), ms },
      async () => {
        const columns: unknown[][] = Array.from({ length: 20 }, () => []);
        const at = new Date().toISOString();
        for (let i = 0; i < RAW_BATCH; i++) {
          const rev = ++rawRevision;
          const name = `raw-${connections}-${rev}`;
          const intent = createIntent(name);
          // Serialising the body is part of what any writer has to do, so the reference pays it too.
          const row = [
            1,
            rev,
            intent.key,
            '',
            'v1',
            'configmaps',
            'ConfigMap',
            'bench',
            name,
            `uid-${rev}`,
            'ADDED',
            JSON.stringify(intent.object),
            null,
            0,
            rev,
            1,
            'bench',
            null,
            null,
            at,
          ];
          row.forEach((v, c) => columns[c].push(v));
        }
        await pool.query(RAW_INSERT, columns);
      },
    );
    if (result.failed) throw result.firstError;
    const rows = result.done * RAW_BATCH;
    return { rate: rows / (result.elapsedMs / 1000), rows, cpu: await meter.perRow(rows) };
  } finally {
    await pool.end();
    await meterPool.end();
  }
}

export async function runAppend(): Promise<Figure[]> {
  section('Figure 1: store.append throughput (~1 KB ConfigMaps) vs raw batched INSERT');
  const db = await scratchDatabase('append');
  // Idle connections are kept, so a backend the CPU meter counted cannot exit mid-phase with its time.
  const pool = createPool(db.url, { idleTimeoutMillis: 0 });
  const meterPool = new Pool({ connectionString: db.url, max: 1 });
  let store: EventStore | undefined;
  const rows: string[][] = [
    ['writer', 'in flight', 'events', 'events/s', 'p50', 'p99', 'CPU/event: Node', 'PostgreSQL'],
  ];
  const cpuColumns = ([node, database]: [number, number]) => [
    `${node.toFixed(0)} µs`,
    `${database.toFixed(0)} µs`,
  ];
  try {
    await migrate(db.url);
    // Same columns, constraints and indexes as events, without the store's trigger and foreign key.
    await pool.query(`CREATE TABLE raw_events (LIKE events INCLUDING ALL)`);
    store = await EventStore.open({ pool, url: db.url });

    const ms = seconds(6) * 1000;
    let best = 0;
    let seq = 0;
    for (const inFlight of IN_FLIGHT) {
      const meter = await CpuMeter.start(meterPool);
      const r = await closedLoop(inFlight, { count: MAX_EVENTS, ms }, () =>
        store!.append('main', createIntent(`s${inFlight}-${seq++}`)),
      );
      if (r.failed) throw r.firstError;
      const rate = r.done / (r.elapsedMs / 1000);
      best = Math.max(best, rate);
      const [p50, p99] = r.latencies.percentiles(50, 99);
      rows.push([
        'store.append',
        String(inFlight),
        String(r.done),
        fmtRate(rate),
        fmtMs(p50),
        fmtMs(p99),
        ...cpuColumns(await meter.perRow(r.done)),
      ]);
    }
    let raw = 0;
    for (const connections of RAW_CONNECTIONS) {
      const r = await rawInsert(db.url, connections, ms);
      raw = Math.max(raw, r.rate);
      rows.push([
        `raw INSERT..unnest ${RAW_BATCH} rows/stmt`,
        `${connections} conn`,
        String(r.rows),
        fmtRate(r.rate),
        '',
        '',
        ...cpuColumns(r.cpu),
      ]);
    }
    printTable(rows);
    const share = best / raw;
    log(`  store.append best ${fmtRate(best)} = ${(share * 100).toFixed(0)}% of raw best ${fmtRate(raw)}`);
    return [
      {
        figure: '1 store.append events/s',
        measured: fmtRate(best),
        reference: `raw INSERT ${fmtRate(raw)} (${(share * 100).toFixed(0)}%)`,
        goal: '>= 50% of raw',
        verdict: share >= 0.5 ? 'met' : 'missed',
      },
    ];
  } finally {
    await store?.close();
    await pool.end();
    await meterPool.end();
    await db.drop();
  }
}

if (require.main === module) {
  runAppend()
    .then(() => process.exit(0))
    .catch((error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}
