import { randomBytes } from 'crypto';
import { encodeJsonBytes, findResourceType, type KubeObject } from '@kubetime/api-machinery';
import { ADMIN, Authorizer, bootstrapCluster, RequestContext, ResourceStore } from '@kubetime/apiserver';
import { createPool, EventStore, migrate } from '@kubetime/event-store';
import { BranchControllers, Session, TimeTravelService } from '@kubetime/time-travel';
import { Figure, Samples, fmtMs, fmtRate, log, now, printTable, scratchDatabase, section } from './harness';
import { buildHistory } from './history.bench';

/**
 * Figure 6: the time-travel API over a long history, called as the WebSocket gateway calls it (one
 * JSON-RPC message in, responses and notifications serialized to JSON out, so encoding is measured),
 * in process so the figures are the API's and not the TLS socket's. The 1M-event history is
 * history.bench.ts's bulk-loaded one (10k live ConfigMaps, ~1 KB each).
 */

const USER_WRITES = Number(process.env.KUBETIME_BENCH_REEXECUTE_WRITES ?? 10_000);
const REPLAY_EVENTS = 200_000;
const DIFF_SPAN = 100_000;

/** A client as the gateway sees it: every notification is turned into the JSON it would send. */
class CountingSink {
  count = 0;
  bytes = 0;
  private waiters: { method: string; resolve: (p: Record<string, unknown>) => void }[] = [];

  async send(method: string, params: Record<string, unknown>): Promise<void> {
    this.bytes += encodeJsonBytes({ jsonrpc: '2.0', method, params }).length;
    if (method === 'replay.event') this.count++;
    for (const w of this.waiters.filter((w) => w.method === method)) w.resolve(params);
    this.waiters = this.waiters.filter((w) => w.method !== method);
  }

  next(method: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiters.push({ method, resolve }));
  }
}

let ids = 0;
async function call(
  service: TimeTravelService,
  session: Session,
  method: string,
  params: Record<string, unknown>,
): Promise<any> {
  const [response] = await service.handle(
    JSON.stringify({ jsonrpc: '2.0', id: ++ids, method, params }),
    session,
  );
  // The gateway hands these bytes to the socket; making them is part of answering.
  encodeJsonBytes(response);
  session.runDeferred();
  if (response.error) throw new Error(`${method}: ${response.error.message}`);
  return response.result;
}

export async function runTimeTravel(): Promise<Figure[]> {
  section('Figure 6: the time-travel API over the long history of figure 4');
  const db = await scratchDatabase('timetravel');
  const pool = createPool(db.url, { max: 6 });
  let store: EventStore | undefined;
  let controllers: BranchControllers | undefined;
  try {
    await migrate(db.url);
    log('  bulk-loading the history of figure 4...');
    const built = await buildHistory(db.url);
    log(
      `  history built in ${(built.ms / 1000).toFixed(1)} s, head ${built.head} (${built.head - 1} events)`,
    );
    store = await EventStore.open({ pool, url: db.url });
    const resources = new ResourceStore(store);
    const service = new TimeTravelService({
      events: store,
      resources,
      authorizer: new Authorizer(store),
      pepper: randomBytes(32),
    });
    const sink = new CountingSink();
    const session = service.openSession(ADMIN, sink);
    const head = built.head;

    // 6a: forking is one row whatever the history below: early and late fork points cost the same.
    const early = new Samples();
    const late = new Samples();
    for (let i = 0; i < 40; i++) {
      const samples = i % 2 ? late : early;
      const revision = i % 2 ? head - i : 1000 + i;
      const t = now();
      await call(service, session, 'branch.create', { name: `fork-${i}`, from: { revision } });
      samples.add(now() - t);
    }

    // 6b: state.get at past revisions, the whole 10k-object state each time.
    const state = new Samples();
    let objects = 0;
    for (let i = 0; i < 20; i++) {
      const revision = head - 1000 - Math.floor((i * (head - 20_000)) / 20);
      const t = now();
      objects = (await call(service, session, 'state.get', { revision })).items.length;
      state.add(now() - t);
    }

    // 6c: diff two revisions 100k events apart (every key touched 10 times in between).
    const diff = new Samples();
    let changed = 0;
    for (let i = 0; i < 5; i++) {
      const from = 20_000 + Math.floor((i * (head - DIFF_SPAN - 30_000)) / 5);
      const t = now();
      changed = (
        await call(service, session, 'diff', { from: { revision: from }, to: { revision: from + DIFF_SPAN } })
      ).changed.length;
      diff.add(now() - t);
    }

    // 6d: replay at max speed, with bodies, to a client that encodes every notification.
    const from = Math.max(2, head - REPLAY_EVENTS);
    const done = sink.next('replay.done');
    const t0 = now();
    await call(service, session, 'replay.start', { from, to: head, speed: 'max' });
    await done;
    const replayMs = now() - t0;
    const replayRate = sink.count / (replayMs / 1000);

    // 6e: re-execution on a virtual clock, on a cluster with controllers.
    const reexec = await reexecution(store);
    controllers = reexec.controllers;

    const [e50] = early.percentiles(50);
    const [l50] = late.percentiles(50);
    const flat = Math.max(early.max(), late.max());
    const [s50, s99] = state.percentiles(50, 99);
    const [d50] = diff.percentiles(50);
    printTable([
      ['measure', 'samples', 'p50', 'max', 'notes'],
      ['branch.create near revision 1,000', '20', fmtMs(e50), fmtMs(early.max()), 'fork over 1M events'],
      [
        `branch.create near the head (${head})`,
        '20',
        fmtMs(l50),
        fmtMs(late.max()),
        'flat: same cost at either end',
      ],
      ['state.get at a past revision', '20', fmtMs(s50), fmtMs(s99), `${objects} objects, JSON encoded`],
      [
        `diff of revisions ${DIFF_SPAN.toLocaleString('en-US')} apart`,
        '5',
        fmtMs(d50),
        fmtMs(diff.max()),
        `${changed} changed objects with patches`,
      ],
      [
        'replay.start speed max',
        '1',
        fmtMs(replayMs),
        '-',
        `${sink.count} events, ${fmtRate(replayRate)}, ${Math.round(sink.bytes / 2 ** 20)} MiB`,
      ],
      ['replay.reexecute', '1', fmtMs(reexec.ms), '-', reexec.note],
    ]);
    return [
      {
        figure: '6a branch.create at 1M events (max)',
        measured: fmtMs(flat),
        reference: `p50 early ${fmtMs(e50)} / late ${fmtMs(l50)}`,
        goal: '< 50 ms, flat',
        verdict: flat < 50 ? 'met' : 'missed',
      },
      {
        figure: '6b state.get 10k objects (p50)',
        measured: fmtMs(s50),
        reference: `p99 ${fmtMs(s99)}`,
        goal: '< 100 ms',
        verdict: s50 < 100 ? 'met' : 'missed',
      },
      {
        figure: '6c diff 100k events apart (p50)',
        measured: fmtMs(d50),
        reference: `${changed} changed`,
        goal: '< 1 s',
        verdict: d50 < 1000 ? 'met' : 'missed',
      },
      {
        figure: '6d replay at max speed',
        measured: fmtRate(replayRate),
        reference: `${sink.count} events`,
        goal: '>= 50,000/s',
        verdict: replayRate >= 50_000 ? 'met' : 'missed',
      },
      {
        figure: '6e re-execution (virtual clock)',
        measured: fmtRate(reexec.eventsPerSecond),
        reference: reexec.note,
        goal: 'report',
        verdict: 'n/a',
      },
    ];
  } finally {
    await controllers?.stopAll();
    await store?.close();
    await pool.end();
    await db.drop();
  }
}

/**
 * A recorded stretch of USER_WRITES user writes on a fresh cluster (ConfigMaps, and every 50th write
 * a Deployment scaled between 1 and 3 replicas, so the controllers have pods to create, schedule,
 * start and delete), re-executed onto a new branch whose controllers run on a virtual clock.
 */
async function reexecution(
  store: EventStore,
): Promise<{ ms: number; eventsPerSecond: number; note: string; controllers: BranchControllers }> {
  // Its own lineage in the same database: a fork of revision 1, before the bulk-loaded history.
  const resources = new ResourceStore(store);
  await store.branches.fork('recorded', 'main', 1, 'wall');
  await bootstrapCluster(resources, 'recorded', { address: '127.0.0.1', port: 6443 }, () => new Date());
  const configmaps = findResourceType('', 'v1', 'configmaps')!;
  const deployments = findResourceType('apps', 'v1', 'deployments')!;
  const ctx = (): RequestContext => ({ user: ADMIN, branch: 'recorded', now: new Date() });
  const from = (await store.branch('recorded')).revision;
  const deploy = (name: string, replicas: number): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
      },
    },
  });
  for (let i = 0; i < USER_WRITES; i++) {
    if (i % 50 === 0) {
      const name = `web-${(i / 50) % 5}`;
      const replicas = 1 + ((i / 250) % 3);
      if (i < 250)
        await resources.create(ctx(), deployments, 'default', deploy(name, replicas), { dryRun: false });
      else
        await resources.update(ctx(), deployments, 'default', name, deploy(name, replicas), {
          dryRun: false,
        });
    } else {
      const name = `cm-${i % 500}`;
      const body: KubeObject = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: 'default' },
        data: { i: String(i) },
      };
      if (i < 500) await resources.create(ctx(), configmaps, 'default', body, { dryRun: false });
      else await resources.update(ctx(), configmaps, 'default', name, body, { dryRun: false });
    }
  }
  const to = (await store.branch('recorded')).revision;
  const controllers = new BranchControllers({ events: store, resources, nodes: { leaseRenewIntervalMs: 0 } });
  const service = new TimeTravelService({
    events: store,
    resources,
    authorizer: new Authorizer(store),
    pepper: randomBytes(32),
    branchControllers: controllers,
  });
  const session = service.openSession(ADMIN, new CountingSink());
  const t = now();
  const report = await call(service, session, 'replay.reexecute', {
    source: { branch: 'recorded', from, to },
    target: 'reexecuted',
  });
  const ms = now() - t;
  return {
    ms,
    eventsPerSecond: report.events / (ms / 1000),
    controllers,
    note: `${report.replayed}/${report.userWrites} user writes -> ${report.events} events (${fmtRate(report.replayed / (ms / 1000))} user writes), ${report.divergences.length} objects diverge`,
  };
}

if (require.main === module) {
  runTimeTravel()
    .then((figures) => {
      printTable([
        ['figure', 'measured', 'reference', 'goal', 'verdict'],
        ...figures.map((f) => [f.figure, f.measured, f.reference, f.goal, f.verdict]),
      ]);
      process.exit(0);
    })
    .catch((error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}
