import type { Pool, PoolClient } from 'pg';
import type { Subscription } from 'rxjs';
import { createPool, EventStore, migrate } from '@kubetime/event-store';
import {
  Figure,
  Samples,
  fmtMs,
  log,
  now,
  printTable,
  scratchDatabase,
  seconds,
  section,
  sleep,
} from './harness';
import { createIntent } from './payload';

/**
 * Figure 5: commit-to-delivery latency for 100 watchers while writes arrive at a steady 1,000/s.
 *
 * The store folds a batch into its head and fans it out to watchers synchronously right after COMMIT
 * returns, before the append promises resolve, so "append resolved" would come after delivery. The
 * commit instant is therefore taken where COMMIT's round trip completes, by wrapping the pool's
 * clients; append resolution is reported next to it.
 */

const WATCHERS = 100;
const RATE = 1_000;

type Query = PoolClient['query'];

/**
 * Stamps the moment each batch commit issued on this pool returns: the store commits a batch as one
 * statement (a call of kubetime_append: insert, head move, notify, in an implicit transaction),
 * recognised by the function's name in the prepared statement's text.
 */
function instrumentCommits(pool: Pool, onCommit: (at: number) => void): void {
  pool.on('connect', (client) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    const wrapped = (...args: unknown[]) => {
      const query = args[0] as string | { text?: string };
      const text = typeof query === 'string' ? query : (query?.text ?? '');
      const isCommit = text.includes('kubetime_append(');
      const callback = args[args.length - 1];
      // pool.query hands the client a callback; a direct client.query gets a promise back.
      if (isCommit && typeof callback === 'function') {
        args[args.length - 1] = (...result: unknown[]) => {
          onCommit(now());
          return (callback as (...r: unknown[]) => unknown)(...result);
        };
      }
      const result = original(...args);
      if (isCommit && result instanceof Promise) {
        return result.then((value) => {
          onCommit(now());
          return value;
        });
      }
      return result;
    };
    client.query = wrapped as Query;
  });
}

interface WatchRun {
  label: string;
  writes: number;
  deliveries: number;
  missing: number;
  latency: Samples;
  resolveLag: Samples;
}

async function paced(
  store: EventStore,
  ms: number,
  tag: string,
  resolved: (revision: number, at: number) => void,
): Promise<number> {
  const t0 = now();
  let issued = 0;
  const pending: Promise<unknown>[] = [];
  const max = Math.ceil((RATE * ms) / 1000);
  // Open-loop pacing: writes are issued on schedule whether or not earlier ones have committed, as
  // independent clients would.
  while (issued < max && now() - t0 < ms) {
    const due = Math.min(max, Math.floor(((now() - t0) / 1000) * RATE));
    for (; issued < due; issued++) {
      pending.push(
        store.append('main', createIntent(`${tag}-${issued}`)).then((e) => resolved(e.revision, now())),
      );
    }
    await sleep(1);
  }
  await Promise.all(pending);
  return issued;
}

async function measure(
  label: string,
  writer: EventStore,
  watcherStore: EventStore,
  commits: { at: number },
  ms: number,
): Promise<WatchRun> {
  const writerHead = await writer.branch('main');
  const from = writerHead.revision;
  const committedAt = new Map<number, number>();
  // Subscribed before the watchers, so it runs first in the synchronous fan-out and sees the commit
  // stamp of the batch being applied.
  const stamp = writerHead.events.subscribe((e) => committedAt.set(e.revision, commits.at));
  const resolvedAt = new Map<number, number>();
  const deliveries: { revision: number; at: number }[][] = Array.from({ length: WATCHERS }, () => []);
  const subs: Subscription[] = deliveries.map((log) =>
    watcherStore.watch('main', from).subscribe((e) => log.push({ revision: e.revision, at: now() })),
  );
  try {
    const writes = await paced(writer, ms, label.replace(/\W/g, ''), (revision, at) =>
      resolvedAt.set(revision, at),
    );
    const last = writerHead.revision;
    if (commits.at === 0)
      throw new Error('no batch commit was recognised on the writer pool (did the commit statement change?)');
    // Let the far side drain, bounded: a watcher that never catches up counts as missing events.
    const deadline = now() + 5_000;
    while (now() < deadline && deliveries.some((d) => (d.at(-1)?.revision ?? from) < last)) await sleep(5);
    const latency = new Samples();
    let delivered = 0;
    let missing = 0;
    for (const log of deliveries) {
      delivered += log.length;
      missing += last - from - log.length;
      for (const d of log) {
        const c = committedAt.get(d.revision);
        if (c !== undefined) latency.add(d.at - c);
      }
    }
    const resolveLag = new Samples();
    for (const [revision, at] of resolvedAt) {
      const c = committedAt.get(revision);
      if (c !== undefined) resolveLag.add(at - c);
    }
    return { label, writes, deliveries: delivered, missing, latency, resolveLag };
  } finally {
    stamp.unsubscribe();
    for (const s of subs) s.unsubscribe();
  }
}

export async function runWatch(): Promise<Figure[]> {
  section(
    `Figure 5: watch commit-to-delivery, ${WATCHERS} watchers at ${RATE.toLocaleString('en-US')} writes/s`,
  );
  const db = await scratchDatabase('watch');
  const commits = { at: 0 };
  const writerPool = createPool(db.url);
  instrumentCommits(writerPool, (at) => (commits.at = at));
  const otherPool = createPool(db.url, { max: 4 });
  let writer: EventStore | undefined;
  let other: EventStore | undefined;
  try {
    await migrate(db.url);
    writer = await EventStore.open({ pool: writerPool, url: db.url });
    // A second store on the same database plays another server process: it learns of commits only
    // through NOTIFY and reads them back from the log.
    other = await EventStore.open({ pool: otherPool, url: db.url });
    const ms = seconds(10) * 1000;
    const runs = [
      await measure('same store (watch cache)', writer, writer, commits, ms),
      await measure('second store (NOTIFY + read)', writer, other, commits, ms),
    ];
    const table = [
      [
        'watchers on',
        'writes',
        'deliveries',
        'missing',
        'p50',
        'p99',
        'max',
        'append resolves after COMMIT p50/p99',
      ],
    ];
    for (const r of runs) {
      const [p50, p99] = r.latency.percentiles(50, 99);
      const [l50, l99] = r.resolveLag.percentiles(50, 99);
      table.push([
        r.label,
        String(r.writes),
        String(r.deliveries),
        String(r.missing),
        fmtMs(p50),
        fmtMs(p99),
        fmtMs(r.latency.max()),
        `${fmtMs(l50)} / ${fmtMs(l99)}`,
      ]);
    }
    printTable(table);
    log(`  achieved write rate ${Math.round(runs[0].writes / (ms / 1000))}/s over ${ms / 1000} s per run`);
    const [, cacheP99] = runs[0].latency.percentiles(50, 99);
    const [, otherP99] = runs[1].latency.percentiles(50, 99);
    const ok = (p99: number, r: WatchRun) => (p99 < 20 && r.missing === 0 ? 'met' : 'missed');
    return [
      {
        figure: '5a watch p99, same store',
        measured: fmtMs(cacheP99),
        reference: `append resolves +${fmtMs(runs[0].resolveLag.percentiles(99)[0])} p99 after COMMIT`,
        goal: 'p99 < 20 ms',
        verdict: ok(cacheP99, runs[0]),
      },
      {
        figure: '5b watch p99, second store',
        measured: fmtMs(otherP99),
        reference: `same-store p99 ${fmtMs(cacheP99)}`,
        goal: 'p99 < 20 ms',
        verdict: ok(otherP99, runs[1]),
      },
    ];
  } finally {
    await writer?.close();
    await other?.close();
    await writerPool.end();
    await otherPool.end();
    await db.drop();
  }
}

if (require.main === module) {
  runWatch()
    .then(() => process.exit(0))
    .catch((error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}
