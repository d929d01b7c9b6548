import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Etcd3 } from 'etcd3';
import { restoreEtcdSnapshot, saveEtcdSnapshot } from '@kubetime/etcd-compat';
import { createPool, EventStore, migrate } from '@kubetime/event-store';
import {
  Figure,
  closedLoop,
  fmtMs,
  fmtRate,
  log,
  now,
  printTable,
  scratchDatabase,
  section,
  sleep,
} from './harness';
import { createIntent } from './payload';
import { freePort, onPath, stopChild, versionOf } from './processes';

/**
 * Figure 7: etcd-format snapshots of N ~1 KB ConfigMaps, save and restore, at two sizes so memory can be
 * read for flatness. Each kubetime operation runs in its own child process (this file with `worker`),
 * so its peak RSS is its own and not the loader's. References, in the same run on the same data: the
 * real `etcdctl snapshot save` from a real etcd holding the same keys and values, and the real
 * `etcdctl snapshot restore` of that file into a data dir. Peak RSS of etcdctl comes from
 * `/usr/bin/time -f %M` (the kernel's maxrss of the child).
 */

const SIZES = (process.env.KUBETIME_BENCH_ETCD_SNAPSHOT_KEYS ?? '25000,100000')
  .split(',')
  .map(Number)
  .filter((n) => Number.isSafeInteger(n) && n > 0);
const LOAD_IN_FLIGHT = 256;
const ETCDCTL_ENV = { ...process.env, ETCDCTL_API: '3' };
/** Generous caps: a run that hits one is broken, not slow. */
const LOAD_LIMIT_MS = 10 * 60_000;
const CHILD_LIMIT_MS = 10 * 60_000;
const RSS_SAMPLE_MS = 10;

interface WorkerReport {
  ms: number;
  /** RSS right before the operation: Node, the pool and the store's in-memory head of main. */
  baselineRssMb: number;
  /** Highest RSS sampled during the operation. */
  peakRssMb: number;
  /** The kernel's lifetime maxrss of the worker process. */
  maxRssMb: number;
  detail: Record<string, unknown>;
}

interface Measured {
  ms: number;
  rssMb: number;
  growthMb?: number;
  detail: string;
}

const mb = (bytes: number) => bytes / 2 ** 20;
const fmtMb = (n: number) => `${Math.round(n)} MB`;

/** Runs a child to completion (bounded), returning stdout, stderr and the wall time. */
function runChild(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child: ChildProcess = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
    const timer = setTimeout(() => void stopChild(child, 2_000), CHILD_LIMIT_MS);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = now() - t0;
      if (code === 0) resolve({ stdout, stderr, ms });
      else
        reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}:\n${stderr.slice(-2000)}`));
    });
  });
}

/** `/usr/bin/time -f %M` writes the child's maxrss in KiB as the last stderr line. */
async function timed(
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ ms: number; rssMb: number; stdout: string }> {
  const { stdout, stderr, ms } = await runChild('/usr/bin/time', ['-f', '%M', command, ...args], env);
  const kib = Number(stderr.trim().split('\n').pop());
  if (!Number.isFinite(kib)) throw new Error(`no maxrss from /usr/bin/time: ${stderr.slice(-500)}`);
  return { ms, rssMb: kib / 1024, stdout };
}

async function worker(op: string, url: string, path: string, branch?: string): Promise<void> {
  const pool = createPool(url, { max: 4 });
  const store = await EventStore.open({ pool, url });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), RSS_SAMPLE_MS);
  const baseline = process.memoryUsage().rss;
  const t0 = now();
  let detail: Record<string, unknown>;
  if (op === 'save') {
    const saved = await saveEtcdSnapshot(store, { path });
    detail = { keys: saved.keys, bytes: saved.bytes, revision: saved.revision };
  } else {
    const restored = await restoreEtcdSnapshot(store, { path, branch: branch!, allowUnimported: true });
    detail = { events: restored.events, keys: restored.keys, unimported: restored.unimported.count };
  }
  const ms = now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const report: WorkerReport = {
    ms,
    baselineRssMb: mb(baseline),
    peakRssMb: mb(peak),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    detail,
  };
  await store.close();
  await pool.end();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

async function inWorker(
  op: 'save' | 'restore',
  url: string,
  path: string,
  branch?: string,
): Promise<WorkerReport> {
  const { stdout } = await runChild(process.execPath, [
    __filename,
    'worker',
    op,
    url,
    path,
    ...(branch ? [branch] : []),
  ]);
  return JSON.parse(stdout.trim().split('\n').pop()!) as WorkerReport;
}

async function countKeys(endpoint: string): Promise<number> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    return await client.getAll().prefix('/registry/').count();
  } finally {
    client.close();
  }
}

/** Starts etcd on a data dir restored for member `bench` at `peer` (the restore and the member must agree). */
async function startEtcd(
  binary: string,
  dataDir: string,
  peer: string,
): Promise<{ child: ChildProcess; endpoint: string }> {
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const child = spawn(
    binary,
    [
      '--name',
      'bench',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `bench=${peer}`,
      '--initial-cluster-state',
      'new',
      '--quota-backend-bytes',
      String(4 * 1024 * 1024 * 1024),
      '--listen-metrics-urls',
      `http://127.0.0.1:${await freePort()}`,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const client = new Etcd3({ hosts: endpoint });
  try {
    const deadline = now() + 20_000;
    for (;;) {
      try {
        await client.get('/kubetime-bench/ready');
        return { child, endpoint };
      } catch (error) {
        if (child.exitCode !== null || now() > deadline) {
          await stopChild(child);
          throw new Error(`etcd did not become ready: ${(error as Error).message}`);
        }
        await sleep(100);
      }
    }
  } finally {
    client.close();
  }
}

async function runSize(
  keys: number,
  etcdBinary: string | undefined,
  dir: string,
): Promise<Record<string, Measured | undefined>> {
  section(`${keys.toLocaleString('en-US')} ConfigMaps of ~1 KB`);
  const db = await scratchDatabase('etcdsnap');
  try {
    await migrate(db.url);
    const pool = createPool(db.url, { max: 4 });
    const store = await EventStore.open({ pool, url: db.url });
    const load = await closedLoop(LOAD_IN_FLIGHT, { count: keys, ms: LOAD_LIMIT_MS }, (i) =>
      store.append('main', createIntent(`cm-${i}`)),
    );
    await store.close();
    await pool.end();
    if (load.failed || load.done !== keys)
      throw load.firstError ?? new Error(`loaded ${load.done} of ${keys}`);
    log(`  loaded into kubetime at ${fmtRate(load.done / (load.elapsedMs / 1000))}`);

    const ours = join(dir, `kubetime-${keys}.db`);
    const save = await inWorker('save', db.url, ours);
    const restore = await inWorker('restore', db.url, ours, 'restored');
    const result: Record<string, Measured | undefined> = {
      save: {
        ms: save.ms,
        rssMb: save.maxRssMb,
        growthMb: save.peakRssMb - save.baselineRssMb,
        detail: `${(save.detail.keys as number).toLocaleString('en-US')} keys, ${fmtMb(mb(save.detail.bytes as number))} file`,
      },
      restore: {
        ms: restore.ms,
        rssMb: restore.maxRssMb,
        growthMb: restore.peakRssMb - restore.baselineRssMb,
        detail: `${(restore.detail.events as number).toLocaleString('en-US')} events appended`,
      },
    };

    if (etcdBinary) {
      // The same keys and values in a real etcd: our file restored by etcdctl into its data dir. Puts
      // would take minutes here (a fsync per batch, ~500/s measured) and leave a fragmented db that
      // only makes etcd's file larger, so this is the reference's best case.
      const etcdDir = join(dir, `etcd-${keys}`);
      const peer = `http://127.0.0.1:${await freePort()}`;
      const member = [
        '--name',
        'bench',
        '--initial-cluster',
        `bench=${peer}`,
        '--initial-advertise-peer-urls',
        peer,
      ];
      await timed('etcdctl', ['snapshot', 'restore', ours, '--data-dir', etcdDir, ...member], ETCDCTL_ENV);
      const etcd = await startEtcd(etcdBinary, etcdDir, peer);
      try {
        const served = await countKeys(etcd.endpoint);
        if (served !== keys) throw new Error(`etcd serves ${served} keys, expected ${keys}`);
        log(`  the same ${served.toLocaleString('en-US')} keys and values served by a real etcd`);
        const theirs = join(dir, `etcd-${keys}.db`);
        const etcdSave = await timed(
          'etcdctl',
          ['--endpoints', etcd.endpoint, 'snapshot', 'save', theirs],
          ETCDCTL_ENV,
        );
        result.etcdSave = {
          ms: etcdSave.ms,
          rssMb: etcdSave.rssMb,
          detail: `${fmtMb(mb(statSync(theirs).size))} file`,
        };
        const etcdRestore = await timed(
          'etcdctl',
          ['snapshot', 'restore', theirs, '--data-dir', join(dir, `etcd-restored-${keys}`), ...member],
          ETCDCTL_ENV,
        );
        result.etcdRestore = { ms: etcdRestore.ms, rssMb: etcdRestore.rssMb, detail: 'into a new data dir' };
      } finally {
        await stopChild(etcd.child);
      }
    }
    const row = (name: string, m?: Measured) =>
      m
        ? [name, fmtMs(m.ms), fmtMb(m.rssMb), m.growthMb === undefined ? '-' : fmtMb(m.growthMb), m.detail]
        : [name, 'skipped', '-', '-', 'etcd not on PATH'];
    printTable([
      ['operation', 'time', 'peak RSS', 'RSS growth in op', 'detail'],
      row('kubetime save (etcd format)', result.save),
      row('etcdctl snapshot save (reference)', result.etcdSave),
      row('kubetime restore into a branch', result.restore),
      row('etcdctl snapshot restore (reference)', result.etcdRestore),
    ]);
    return result;
  } finally {
    await db.drop();
  }
}

export async function runEtcdSnapshot(): Promise<Figure[]> {
  section('Figure 7: etcd-format snapshot save and restore, against etcdctl');
  const etcdBinary = onPath('etcd') && onPath('etcdctl') ? onPath('etcd') : undefined;
  if (etcdBinary) log(`  ${versionOf(etcdBinary)}; kubetime and etcd on loopback, temp dirs`);
  else
    log(
      '  SKIP etcd references: etcd/etcdctl not on PATH (Debian: apt-get install -y etcd-server etcd-client)',
    );
  const dir = mkdtempSync(join(tmpdir(), 'kubetime-bench-etcd-snapshot-'));
  try {
    const runs: [number, Record<string, Measured | undefined>][] = [];
    for (const keys of SIZES) runs.push([keys, await runSize(keys, etcdBinary, dir)]);
    const figures: Figure[] = [];
    for (const [keys, r] of runs) {
      for (const [op, ref] of [
        ['save', 'etcdSave'],
        ['restore', 'etcdRestore'],
      ] as const) {
        const m = r[op]!;
        const e = r[ref];
        figures.push({
          figure: `7 etcd snapshot ${op}, ${keys / 1000}k keys`,
          measured: `${fmtMs(m.ms)}, peak RSS ${fmtMb(m.rssMb)}`,
          reference: e ? `etcdctl snapshot ${op}: ${fmtMs(e.ms)}, peak RSS ${fmtMb(e.rssMb)}` : 'skipped',
          goal: 'no slower than etcdctl',
          verdict: e ? (m.ms <= e.ms ? 'met' : 'missed') : 'skipped',
        });
      }
    }
    if (runs.length > 1) {
      const [small, large] = [runs[0], runs[runs.length - 1]];
      const times = `x${(large[0] / small[0]).toFixed(0)} keys`;
      for (const op of ['save', 'restore'] as const) {
        const [a, b] = [small[1][op]!, large[1][op]!];
        const ref = op === 'save' ? 'etcdSave' : 'etcdRestore';
        const [refA, refB] = [small[1][ref], large[1][ref]];
        // The verdict reads the operation's own growth: the worker's baseline holds the store's
        // in-memory head of main (EventStore.open loads it), which grows with the cluster whatever
        // the snapshot code does, so the total is printed beside it, not judged.
        const growth = b.growthMb! / a.growthMb!;
        figures.push({
          figure: `7 etcd snapshot ${op} memory, ${small[0] / 1000}k -> ${large[0] / 1000}k keys`,
          measured:
            `growth in op ${fmtMb(a.growthMb!)} -> ${fmtMb(b.growthMb!)} (x${growth.toFixed(2)} for ${times}); ` +
            `process peak ${fmtMb(a.rssMb)} -> ${fmtMb(b.rssMb)}`,
          reference: refA && refB ? `etcdctl peak ${fmtMb(refA.rssMb)} -> ${fmtMb(refB.rssMb)}` : 'skipped',
          goal: 'growth in op flat (< x1.5)',
          verdict: growth < 1.5 ? 'met' : 'missed',
        });
      }
    }
    section('Figure 7 summary');
    printTable([
      ['figure', 'measured', 'reference (same run)', 'goal', 'verdict'],
      ...figures.map((f) => [f.figure, f.measured, f.reference, f.goal, f.verdict]),
    ]);
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [mode, op, url, path, branch] = process.argv.slice(2);
  const main = mode === 'worker' ? worker(op, url, path, branch) : runEtcdSnapshot();
  main
    .then(() => process.exit(0))
    .catch((error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}
