import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { performance } from 'perf_hooks';

/** The server-wide connection scratch databases are created from; trust auth on loopback. */
export const ADMIN_URL = process.env.KUBETIME_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const now = (): number => performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Duration knobs scale with KUBETIME_BENCH_SCALE so a quick smoke run (0.2) keeps every step. */
export function seconds(base: number): number {
  const scale = Number(process.env.KUBETIME_BENCH_SCALE ?? '1');
  return Math.max(0.5, base * (Number.isFinite(scale) && scale > 0 ? scale : 1));
}

/** A growable sample of durations in milliseconds. */
export class Samples {
  private data = new Float64Array(1024);
  length = 0;

  add(ms: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = ms;
  }

  /** Nearest-rank percentile; sorting a copy keeps add() cheap in the hot loop. */
  percentiles(...ps: number[]): number[] {
    if (!this.length) return ps.map(() => NaN);
    const sorted = this.data.slice(0, this.length).sort();
    return ps.map(
      (p) => sorted[Math.min(this.length - 1, Math.max(0, Math.ceil((p / 100) * this.length) - 1))],
    );
  }

  max(): number {
    let m = -Infinity;
    for (let i = 0; i < this.length; i++) m = Math.max(m, this.data[i]);
    return m;
  }
}

/** One printed figure: the measured side and the reference it is read against. */
export interface Figure {
  figure: string;
  measured: string;
  reference: string;
  goal: string;
  verdict: 'met' | 'missed' | 'n/a' | 'skipped';
}

export function fmtRate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms < 1 ? `${ms.toFixed(3)} ms` : ms < 100 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function section(title: string): void {
  log('');
  log(`== ${title}`);
}

export function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const [i, row] of rows.entries()) {
    log(
      row
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    );
    if (i === 0) log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const live = new Set<ScratchDatabase>();

/** A throwaway database on the shared server, so a bench never touches anyone else's data. */
export async function scratchDatabase(label: string): Promise<ScratchDatabase> {
  const name = `kubetime_bench_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db: ScratchDatabase = {
    name,
    url: url.toString(),
    async drop() {
      live.delete(db);
      const c = new Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
  live.add(db);
  return db;
}

/** Drops whatever scratch databases are still around; used when a run is interrupted. */
export async function dropAllScratch(): Promise<void> {
  for (const db of [...live]) await db.drop().catch(() => undefined);
}

/**
 * Keeps `inFlight` operations running until `count` have been started or `ms` elapsed, whichever is
 * first, and records each one's latency. Returns the achieved completion rate.
 */
export async function closedLoop(
  inFlight: number,
  limits: { count: number; ms: number },
  op: (i: number) => Promise<unknown>,
): Promise<{ done: number; failed: number; elapsedMs: number; latencies: Samples; firstError?: unknown }> {
  const latencies = new Samples();
  let started = 0;
  let done = 0;
  let failed = 0;
  let firstError: unknown;
  const t0 = now();
  const deadline = t0 + limits.ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (started < limits.count && now() < deadline) {
        const i = started++;
        const t = now();
        try {
          await op(i);
          latencies.add(now() - t);
          done++;
        } catch (error) {
          failed++;
          firstError ??= error;
          // A failing target would otherwise spin this loop as fast as it can reject.
          if (failed > 1000) return;
        }
      }
    }),
  );
  return { done, failed, elapsedMs: now() - t0, latencies, firstError };
}

/** Roughly `bytes` of ConfigMap data, so every figure moves objects of the same size. */
export function filler(bytes: number, seed: number): string {
  const base = `${seed.toString(36)}-kubetime-bench-`;
  return base.repeat(Math.ceil(bytes / base.length)).slice(0, bytes);
}
