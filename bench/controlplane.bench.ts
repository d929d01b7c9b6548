import { readFileSync } from 'fs';
import https from 'https';
import { loadavg } from 'os';
import { Client } from 'pg';
import { createPool, EventStore, migrate } from '@kubetime/event-store';
import {
  Figure,
  closedLoop,
  dropAllScratch,
  fmtMs,
  fmtRate,
  log,
  now,
  printTable,
  scratchDatabase,
  seconds,
  section,
  sleep,
} from './harness';
import { createIntent } from './payload';
import { BenchServer, Connection, request, startServer } from './server';

/**
 * Figure 8: the control plane as a whole. The built server runs with its controllers and simulated
 * nodes on; Deployments go in through the HTTPS API and a real pod watch says when their pods are
 * Running and Ready. Then, at the issue's steady-state scale, the heartbeat writes the nodes keep
 * making and the log growth they cause are measured over a fixed window.
 */

const positive = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  return Number.isSafeInteger(value) && value > 0 ? value : fallback;
};

const SCALE_UP_NODES = positive('KUBETIME_BENCH_CP_SCALE_NODES', 100);
const SCALE_UP_PODS = positive('KUBETIME_BENCH_CP_SCALE_PODS', 1_000);
const STEADY_NODES = positive('KUBETIME_BENCH_CP_NODES', 1_000);
const STEADY_PODS = positive('KUBETIME_BENCH_CP_PODS', 10_000);
/** Pods per Deployment in the steady state, as in the scale-up. */
const PODS_PER_DEPLOYMENT = 1_000;
/** How long the pods may take to become Ready before the figure reports what they reached. */
const READY_DEADLINE_S = positive('KUBETIME_BENCH_CP_READY_DEADLINE_S', 600);
const WINDOW_S = positive('KUBETIME_BENCH_CP_WINDOW_S', 60);
/** `scale-up`, `steady` or both (the default). */
const PHASES = (process.env.KUBETIME_BENCH_CP_PHASES ?? 'scale-up,steady').split(',');
/** A directory to write the server's V8 CPU profile to (node --cpu-prof); unset runs unprofiled. */
const CPU_PROFILE_DIR = process.env.KUBETIME_BENCH_CP_CPU_PROF;
/** Node heartbeat interval as the server defaults it, for the retention arithmetic. */
const LEASE_RENEW_S = 10;
/** KWOK's published scale-up rate, quoted (not measured here). */
const KWOK_PODS_PER_S = 20;
const LABEL = 'kubetime.io/bench';

const MiB = 2 ** 20;
const fmtMiB = (bytes: number) => `${Math.round(bytes / MiB).toLocaleString('en-US')} MiB`;
const fmtCount = (n: number) => Math.round(n).toLocaleString('en-US');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** Samples the server's resident set from /proc every 250 ms; the kernel's high-water mark is read too. */
class RssSampler {
  peak = 0;
  last = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 250);
  }

  private read(field: 'VmRSS' | 'VmHWM'): number {
    try {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
        readFileSync(`/proc/${this.pid}/status`, 'utf8'),
      );
      return match ? Number(match[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  sample(): number {
    this.last = this.read('VmRSS');
    this.peak = Math.max(this.peak, this.last);
    return this.last;
  }

  highWaterMark(): number {
    return this.read('VmHWM');
  }

  /** Starts a fresh peak, so a phase reports its own. */
  reset(): void {
    this.peak = 0;
    this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

interface PodWatch {
  /** Resolves when `target` pods are Running and Ready, or at the deadline with what was reached. */
  ready: Promise<void>;
  readyCount(): number;
  /** ms from `startedAt` to the first pod Ready and to the `target`th. */
  firstReadyMs?: number;
  allReadyMs?: number;
  /** The resourceVersion of the watch event that made the last counted pod Ready. */
  allReadyRevision?: number;
  close(): void;
}

interface PodObject {
  metadata: { namespace: string; name: string; resourceVersion: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

function isRunningAndReady(pod: PodObject): boolean {
  return (
    pod.status?.phase === 'Running' &&
    !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/**
 * A real watch on the bench's pods (the way a client waits for a rollout), from the revision of a
 * list made just before, so no transition is missed.
 */
async function watchPods(
  c: Connection,
  agent: https.Agent,
  target: number,
  startedAt: () => number,
  deadlineMs: number,
): Promise<PodWatch> {
  const list = await request(agent, c, 'GET', `/api/v1/pods?labelSelector=${encodeURIComponent(LABEL)}`);
  if (list.status !== 200) throw new Error(`list pods: HTTP ${list.status} ${list.text.slice(0, 300)}`);
  const from = (JSON.parse(list.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const readyPods = new Set<string>();
  let finish: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolveReady, rejectReady) => {
    finish = resolveReady;
    fail = rejectReady;
  });
  const watch: PodWatch = { ready, readyCount: () => readyPods.size, close: () => undefined };
  const timer = setTimeout(finish, deadlineMs);
  const req = https.request({
    host: '127.0.0.1',
    port: c.port,
    path: `/api/v1/pods?watch=1&labelSelector=${encodeURIComponent(LABEL)}&resourceVersion=${from}`,
    method: 'GET',
    agent: false,
    ca: c.ca,
    headers: { authorization: `Bearer ${c.token}`, accept: 'application/json' },
  });
  await new Promise<void>((opened, refused) => {
    req.on('error', (error) => {
      refused(error);
      fail(error);
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        refused(new Error(`watch pods: HTTP ${res.statusCode}`));
        return;
      }
      opened();
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (!line.trim()) continue;
          const event = JSON.parse(line) as {
            type: string;
            object: PodObject;
          };
          if (event.type === 'ERROR') {
            fail(new Error(`watch pods: ${line.slice(0, 300)}`));
            continue;
          }
          if (event.type === 'BOOKMARK') continue;
          const id = `${event.object.metadata.namespace}/${event.object.metadata.name}`;
          const wasReady = readyPods.has(id);
          if (event.type !== 'DELETED' && isRunningAndReady(event.object)) readyPods.add(id);
          else readyPods.delete(id);
          if (!wasReady && readyPods.has(id)) {
            watch.firstReadyMs ??= now() - startedAt();
            if (readyPods.size === target) {
              watch.allReadyMs = now() - startedAt();
              watch.allReadyRevision = Number(event.object.metadata.resourceVersion);
              finish();
            }
          }
        }
      });
      res.on('end', () => fail(new Error('the pod watch ended before the pods were Ready')));
    });
    req.end();
  });
  watch.close = () => {
    clearTimeout(timer);
    req.destroy();
  };
  return watch;
}

function deployment(name: string, replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: {
          labels: { app: name, [LABEL]: 'controlplane' },
          // No simulated image pull: the figure is the control plane's, not a registry's.
          annotations: { 'kubetime.io/pull-time': '0s' },
        },
        spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
      },
    },
  };
}

async function createDeployment(server: BenchServer, name: string, replicas: number): Promise<void> {
  const r = await request(
    server.agent,
    server.connection,
    'POST',
    '/apis/apps/v1/namespaces/default/deployments',
    JSON.stringify(deployment(name, replicas)),
  );
  if (r.status !== 201)
    throw new Error(`create deployment ${name}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
}

/** Polls (bounded) until the node pool has registered every node and each one is Ready. */
async function waitForNodes(server: BenchServer, count: number, deadlineMs: number): Promise<number> {
  const t0 = now();
  while (now() - t0 < deadlineMs) {
    const r = await request(server.agent, server.connection, 'GET', '/api/v1/nodes');
    if (r.status === 200) {
      const items = (
        JSON.parse(r.text) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] }
      ).items;
      const ready = items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      if (ready.length >= count) return now() - t0;
    }
    await sleep(500);
  }
  throw new Error(`the ${count} simulated nodes were not all Ready within ${deadlineMs / 1000} s`);
}

/** The scratch database behind a running server, read directly for what the log holds. */
class LogReader {
  private constructor(private readonly client: Client) {}

  static async open(url: string): Promise<LogReader> {
    const client = new Client({ connectionString: url });
    await client.connect();
    return new LogReader(client);
  }

  async head(): Promise<number> {
    const r = await this.client.query<{ head: string }>(
      `SELECT head_revision AS head FROM branches WHERE name = 'main'`,
    );
    return Number(r.rows[0].head);
  }

  async eventsBytes(): Promise<number> {
    const r = await this.client.query<{ bytes: string }>(`SELECT pg_total_relation_size('events') AS bytes`);
    return Number(r.rows[0].bytes);
  }

  /**
   * Events in (from, to] grouped by who wrote them and on what. Every simulated node and kubelet
   * writes as `system:node:<name>`; they are folded into one row per resource.
   */
  async byActor(from: number, to: number): Promise<{ actor: string; resource: string; events: number }[]> {
    const r = await this.client.query<{ actor: string; resource: string; events: string }>(
      `SELECT CASE WHEN actor LIKE 'system:node:%' THEN 'system:node:*' ELSE actor END AS actor,
              resource, count(*) AS events
         FROM events
        WHERE branch_id = (SELECT id FROM branches WHERE name = 'main') AND revision > $1 AND revision <= $2
        GROUP BY 1, 2 ORDER BY 3 DESC`,
      [from, to],
    );
    return r.rows.map((row) => ({ ...row, events: Number(row.events) }));
  }

  /** Average stored size of one row of a resource (object plus the row's columns). */
  async averageRowBytes(resource: string): Promise<number> {
    const r = await this.client.query<{ bytes: string | null }>(
      `SELECT avg(pg_column_size(e.*)) AS bytes FROM events e WHERE resource = $1`,
      [resource],
    );
    return Number(r.rows[0].bytes ?? 0);
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

function printByActor(rows: { actor: string; resource: string; events: number }[], seconds: number): void {
  const shown = rows.slice(0, 14);
  const rest = rows.slice(14).reduce((sum, r) => sum + r.events, 0);
  printTable([
    ['actor', 'resource', 'events', 'per second'],
    ...shown.map((r) => [r.actor, r.resource, fmtCount(r.events), fmtRate(r.events / seconds)]),
    ...(rest ? [['(others)', '', fmtCount(rest), fmtRate(rest / seconds)]] : []),
  ]);
}

/**
 * The same-machine reference for the write rate: `store.append` of as many ~1 KB events, once one at
 * a time (the controller manager awaits every write before the next) and once 64 in flight (what the
 * store reaches when writers do not wait on each other). Bounded at 15 s each.
 */
async function appendReference(events: number): Promise<{ serial: number; parallel: number }> {
  const db = await scratchDatabase('cpref');
  const pool = createPool(db.url);
  let store: EventStore | undefined;
  try {
    await migrate(db.url);
    store = await EventStore.open({ pool, url: db.url });
    const rates: number[] = [];
    let seq = 0;
    for (const inFlight of [1, 64]) {
      const r = await closedLoop(inFlight, { count: events, ms: seconds(15) * 1000 }, () =>
        store!.append('main', createIntent(`ref-${inFlight}-${seq++}`)),
      );
      if (r.failed) throw r.firstError;
      rates.push(r.done / (r.elapsedMs / 1000));
    }
    return { serial: rates[0], parallel: rates[1] };
  } finally {
    await store?.close();
    await pool.end();
    await db.drop();
  }
}

function serverEnv(nodes: number): Record<string, string> {
  return { KUBETIME_CONTROLLERS: 'on', KUBETIME_NODES: String(nodes) };
}

function nodeArgs(label: string): string[] {
  return CPU_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}`, `--cpu-prof-name=${label}.cpuprofile`]
    : [];
}

async function runScaleUp(): Promise<Figure[]> {
  section(
    `Figure 8a: scale-up, a Deployment of ${fmtCount(SCALE_UP_PODS)} replicas on ${SCALE_UP_NODES} simulated nodes (load ${load()})`,
  );
  const server = await startServer('cpscale', serverEnv(SCALE_UP_NODES), {
    sockets: 4,
    nodeArgs: nodeArgs('scale-up'),
  });
  const rss = new RssSampler(server.pid);
  const reader = await LogReader.open(server.db.url);
  let watch: PodWatch | undefined;
  try {
    const nodesMs = await waitForNodes(server, SCALE_UP_NODES, 120_000);
    log(`  ${SCALE_UP_NODES} nodes registered and Ready ${fmtMs(nodesMs)} after the server was ready`);
    const before = await reader.head();
    rss.reset();
    let t0 = 0;
    watch = await watchPods(
      server.connection,
      server.agent,
      SCALE_UP_PODS,
      () => t0,
      READY_DEADLINE_S * 1000,
    );
    t0 = now();
    await createDeployment(server, 'scale-up', SCALE_UP_PODS);
    await watch.ready;
    const elapsedMs = watch.allReadyMs ?? now() - t0;
    const reached = watch.readyCount();
    const until = watch.allReadyRevision ?? (await reader.head());
    const podsPerS = reached / (elapsedMs / 1000);
    const byActor = await reader.byActor(before, until);
    const written = byActor.reduce((sum, r) => sum + r.events, 0);
    const eventsPerS = written / (elapsedMs / 1000);
    const peak = Math.max(rss.peak, rss.sample());
    log(
      `  ${fmtCount(reached)}/${fmtCount(SCALE_UP_PODS)} pods Running and Ready; first after ${fmtMs(watch.firstReadyMs ?? NaN)}, ` +
        `${watch.allReadyMs === undefined ? `deadline of ${READY_DEADLINE_S} s reached` : `all after ${fmtMs(elapsedMs)}`}`,
    );
    if (watch.allReadyMs === undefined) log(`  the server's last output:\n${server.output()}`);
    log(`  events written meanwhile (revisions ${before + 1}..${until}):`);
    printByActor(byActor, elapsedMs / 1000);
    log(`  load average after the rollout: ${load()}`);
    const reference = await appendReference(written);
    printTable([
      ['', 'pods/s', 'events', 'events/s', 'server RSS peak'],
      [
        'kubetime controllers, HTTPS in, watch out',
        fmtRate(podsPerS),
        fmtCount(written),
        fmtRate(eventsPerS),
        `${fmtMiB(peak)} (VmHWM ${fmtMiB(rss.highWaterMark())})`,
      ],
      [
        'store.append 1 in flight (serial, as the manager)',
        '',
        fmtCount(written),
        fmtRate(reference.serial),
        '',
      ],
      ['store.append 64 in flight', '', fmtCount(written), fmtRate(reference.parallel), ''],
      [`KWOK published (quoted, not measured)`, fmtRate(KWOK_PODS_PER_S), '', '', ''],
    ]);
    return [
      {
        figure: `8a scale-up ${fmtCount(SCALE_UP_PODS)} pods / ${SCALE_UP_NODES} nodes`,
        measured: `${fmtRate(podsPerS)} (all Ready in ${fmtMs(elapsedMs)}; ${fmtRate(eventsPerS)} events)`,
        reference: `KWOK 20 pods/s (quoted); serial store.append ${fmtRate(reference.serial)}`,
        goal: '>= 1,000 pods/s',
        verdict: watch.allReadyMs !== undefined && podsPerS >= 1000 ? 'met' : 'missed',
      },
    ];
  } finally {
    watch?.close();
    rss.stop();
    await reader.close();
    await server.stop();
  }
}

async function runSteadyState(): Promise<Figure[]> {
  section(
    `Figure 8b: steady state, ${fmtCount(STEADY_PODS)} pods on ${fmtCount(STEADY_NODES)} simulated nodes (load ${load()})`,
  );
  const server = await startServer('cpsteady', serverEnv(STEADY_NODES), {
    sockets: 4,
    nodeArgs: nodeArgs('steady'),
  });
  const rss = new RssSampler(server.pid);
  const reader = await LogReader.open(server.db.url);
  let watch: PodWatch | undefined;
  try {
    const nodesMs = await waitForNodes(server, STEADY_NODES, 300_000);
    log(
      `  ${fmtCount(STEADY_NODES)} nodes registered and Ready ${fmtMs(nodesMs)} after the server was ready`,
    );
    let t0 = 0;
    watch = await watchPods(server.connection, server.agent, STEADY_PODS, () => t0, READY_DEADLINE_S * 1000);
    t0 = now();
    for (let i = 0, left = STEADY_PODS; left > 0; i++, left -= PODS_PER_DEPLOYMENT)
      await createDeployment(server, `steady-${i}`, Math.min(left, PODS_PER_DEPLOYMENT));
    // Progress every 30 s, so a long settle shows where it is.
    const progress = setInterval(
      () =>
        log(`  ... ${fmtCount(watch!.readyCount())} pods Ready after ${fmtMs(now() - t0)} (load ${load()})`),
      30_000,
    );
    await watch.ready.finally(() => clearInterval(progress));
    const reached = watch.readyCount();
    log(
      `  ${fmtCount(reached)}/${fmtCount(STEADY_PODS)} pods Running and Ready ` +
        `${watch.allReadyMs === undefined ? `at the ${READY_DEADLINE_S} s deadline` : `after ${fmtMs(watch.allReadyMs)} (${fmtCount(reached / (watch.allReadyMs / 1000))} pods/s)`}`,
    );
    if (watch.allReadyMs === undefined) log(`  the server's last output:\n${server.output()}`);
    // Trailing writes of the rollout (last status updates, Event aggregation) out of the window.
    await sleep(10_000);

    const windowMs = seconds(WINDOW_S) * 1000;
    rss.reset();
    const fromRevision = await reader.head();
    const fromBytes = await reader.eventsBytes();
    const w0 = now();
    await sleep(windowMs);
    const toRevision = await reader.head();
    const toBytes = await reader.eventsBytes();
    const windowS = (now() - w0) / 1000;
    const byActor = await reader.byActor(fromRevision, toRevision);
    const total = byActor.reduce((sum, r) => sum + r.events, 0);
    const of = (resource: string) =>
      byActor.filter((r) => r.resource === resource).reduce((sum, r) => sum + r.events, 0);
    const leases = of('leases');
    const nodeStatus = of('nodes');
    const heartbeatPerS = (leases + nodeStatus) / windowS;
    const eventsPerHour = (total / windowS) * 3600;
    const bytesPerHour = ((toBytes - fromBytes) / windowS) * 3600;
    const rssNow = rss.sample();
    const rssPeak = rss.peak;
    log(`  window of ${windowS.toFixed(1)} s, revisions ${fromRevision + 1}..${toRevision}, load ${load()}:`);
    printByActor(byActor, windowS);

    // What a per-kind retention rule "Leases older than 1 h keep only their latest version" bounds:
    // the Lease rows a compaction leaves are the last hour's renewals plus one per live Lease.
    const leaseRowBytes = await reader.averageRowBytes('leases');
    const leaseVersionsPerHour = 3600 / LEASE_RENEW_S;
    const retainedLeaseRows = STEADY_NODES * (leaseVersionsPerHour + 1);
    const leasePerHour = (leases / windowS) * 3600;
    printTable([
      ['', 'measured'],
      [
        'heartbeat writes/s (Lease renewals + Node status)',
        `${heartbeatPerS.toFixed(1)}/s (${fmtRate(leases / windowS)} + ${fmtRate(nodeStatus / windowS)})`,
      ],
      ['all events/s in the window', `${(total / windowS).toFixed(1)}/s`],
      [
        'log growth, extrapolated',
        `${fmtCount(eventsPerHour)} events/h, ${fmtMiB(bytesPerHour)}/h of events table`,
      ],
      [
        'of which Lease renewals',
        `${fmtCount(leasePerHour)} events/h, ~${fmtMiB(leasePerHour * leaseRowBytes)}/h (${Math.round(leaseRowBytes)} B/row)`,
      ],
      [
        'Lease rows kept by "older than 1 h: latest version only"',
        `<= ${fmtCount(retainedLeaseRows)} rows, ~${fmtMiB(retainedLeaseRows * leaseRowBytes)}, flat in time`,
      ],
      [
        'server RSS in the window',
        `${fmtMiB(rssNow)} now, ${fmtMiB(rssPeak)} peak (VmHWM over the run ${fmtMiB(rss.highWaterMark())})`,
      ],
    ]);
    const complete = watch.allReadyMs !== undefined;
    return [
      {
        figure: `8b steady RSS, ${fmtCount(reached)} pods / ${fmtCount(STEADY_NODES)} nodes`,
        measured: `${fmtMiB(rssPeak)} peak in the window`,
        reference: '-',
        goal: '< 1.5 GB',
        verdict: complete && rssPeak < 1.5e9 ? 'met' : 'missed',
      },
      {
        figure: '8b heartbeat writes/s',
        measured: `${heartbeatPerS.toFixed(1)}/s; log +${fmtCount(eventsPerHour)} events/h, +${fmtMiB(bytesPerHour)}/h`,
        reference: `${fmtCount(STEADY_NODES)} nodes / ${LEASE_RENEW_S} s = ${STEADY_NODES / LEASE_RENEW_S} Lease renewals/s expected`,
        goal: 'report',
        verdict: 'n/a',
      },
    ];
  } finally {
    watch?.close();
    rss.stop();
    await reader.close();
    await server.stop();
  }
}

export async function runControlPlane(): Promise<Figure[]> {
  const figures: Figure[] = [];
  if (PHASES.includes('scale-up')) figures.push(...(await runScaleUp()));
  if (PHASES.includes('steady')) figures.push(...(await runSteadyState()));
  if (CPU_PROFILE_DIR) log(`  CPU profiles written to ${CPU_PROFILE_DIR}`);
  return figures;
}

if (require.main === module) {
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: dropping scratch databases');
    void dropAllScratch().finally(() => process.exit(130));
  });
  runControlPlane()
    .then((figures) => {
      section('Summary');
      printTable([
        ['figure', 'measured', 'reference (same run)', 'goal', 'verdict'],
        ...figures.map((f) => [f.figure, f.measured, f.reference, f.goal, f.verdict]),
      ]);
      process.exit(0);
    })
    .catch(async (error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      await dropAllScratch();
      process.exit(1);
    });
}
