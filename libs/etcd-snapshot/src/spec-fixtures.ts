/* Shared by this library's specs only (excluded from the build): event fixtures and a real etcd on loopback. */
import { ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  BRANCH_PAGE,
  BUCKET_LEAF_FLAG,
  decodeMeta,
  LEAF_PAGE,
  PAGE_HEADER_SIZE,
  readPageHeader,
} from './bolt/layout';
import type { EtcdEvent } from './types';

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kubetime-etcd-snapshot-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Builds put/delete events the way etcd numbers them, tracking create revision and version per key. */
export class EventLog {
  readonly events: EtcdEvent[] = [];
  private rev = 1;
  private readonly live = new Map<string, { createRevision: number; version: number }>();

  get revision(): number {
    return this.rev;
  }

  put(key: string, value: Buffer | string, lease?: bigint): this {
    return this.txn([{ key, value, lease }]);
  }

  delete(key: string): this {
    return this.txn([{ key }]);
  }

  /** One transaction: one main revision, sub revisions in order. A change without value is a delete. */
  txn(changes: { key: string; value?: Buffer | string; lease?: bigint }[]): this {
    this.rev++;
    changes.forEach((c, sub) => {
      const prev = this.live.get(c.key);
      if (c.value === undefined) {
        if (!prev) throw new Error(`fixture deletes missing key ${c.key}`);
        this.live.delete(c.key);
        this.events.push({
          key: Buffer.from(c.key),
          revision: this.rev,
          sub,
          type: 'delete',
          createRevision: 0,
          version: 0,
        });
        return;
      }
      const next = prev ? { ...prev, version: prev.version + 1 } : { createRevision: this.rev, version: 1 };
      this.live.set(c.key, next);
      this.events.push({
        key: Buffer.from(c.key),
        revision: this.rev,
        sub,
        type: 'put',
        value: Buffer.from(c.value),
        ...next,
        ...(c.lease === undefined ? {} : { lease: c.lease }),
      });
    });
    return this;
  }
}

/** The reference's first experiment: three pods, an update, a delete, a namespace (revisions 2..7). */
export function smallLog(): EventLog {
  return new EventLog()
    .put('/registry/pods/default/a', '{"kind":"Pod","metadata":{"name":"a"}}')
    .put('/registry/pods/default/b', '{"kind":"Pod","metadata":{"name":"b"}}')
    .put('/registry/pods/default/nginx', '{"kind":"Pod","metadata":{"name":"nginx"}}')
    .put('/registry/pods/default/a', '{"kind":"Pod","metadata":{"name":"a","labels":{"v":"2"}}}')
    .delete('/registry/pods/default/b')
    .put('/registry/namespaces/default', '{"kind":"Namespace","metadata":{"name":"default"}}');
}

export function filler(seed: string, size: number): Buffer {
  return Buffer.from(seed.repeat(Math.ceil(size / seed.length)).slice(0, size));
}

/**
 * The reference's large case: about 5,000 revisions of 1 KB values, a transaction, a 40 KB value that
 * needs overflow pages, deletes and re-creations, and a tombstone as the very last event. Its `key`
 * bucket is a three-level tree.
 */
export function bigLog(): EventLog {
  const log = new EventLog();
  const name = (i: number) => `/registry/configmaps/ns-${i % 17}/cm-${String(i).padStart(5, '0')}`;
  for (let i = 0; i < 3000; i++) log.put(name(i), filler(`create ${i};`, 1024));
  for (let i = 0; i < 3000; i += 2) log.put(name(i), filler(`update ${i};`, 1024));
  for (let i = 0; i < 3000; i += 7) log.delete(name(i));
  log.txn([
    { key: '/registry/leases/kube-system/a', value: 'a' },
    { key: '/registry/leases/kube-system/b', value: 'b' },
    { key: name(1) },
  ]);
  log.put('/registry/secrets/default/big', filler('forty kilobytes;', 40_000));
  for (let i = 0; i < 3000; i += 49) log.put(name(i), filler(`recreate ${i};`, 1024));
  log.delete(name(2));
  return log;
}

const run = promisify(execFile);

function onPath(bin: string, args: string[]): boolean {
  return !spawnSync(bin, args, { stdio: 'ignore' }).error;
}

export const HAVE_ETCD = onPath('etcd', ['--version']) && onPath('etcdctl', ['version']);
export const SKIP_ETCD_REASON =
  'real etcd checks skipped: etcd and etcdctl (3.4+) are not on PATH; on Debian: apt-get install etcd-server etcd-client';

export async function etcdctl(args: string[], endpoint?: string): Promise<string> {
  const full = endpoint ? ['--endpoints', endpoint, ...args] : args;
  const { stdout } = await run('etcdctl', full, {
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 60_000,
    maxBuffer: 256 << 20,
  });
  return stdout;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Member {
  name: string;
  peerUrl: string;
}

export async function newMember(name: string): Promise<Member> {
  return { name, peerUrl: `http://127.0.0.1:${await freePort()}` };
}

export interface RunningEtcd {
  endpoint: string;
  stop(): Promise<void>;
}

/** Starts etcd on loopback for `member` over `dataDir` and waits (bounded) until it answers. */
export async function startEtcd(dataDir: string, member: Member, logFile: string): Promise<RunningEtcd> {
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    'etcd',
    [
      '--name',
      member.name,
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      member.peerUrl,
      '--initial-advertise-peer-urls',
      member.peerUrl,
      '--initial-cluster',
      `${member.name}=${member.peerUrl}`,
      '--listen-metrics-urls',
      `http://127.0.0.1:${await freePort()}`,
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await etcdctl(['--command-timeout=1s', 'endpoint', 'health'], endpoint);
      return { endpoint, stop };
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`etcd did not become healthy (see ${logFile}): ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** `etcdctl get --prefix -w json`, decoded; leases are left out because JSON numbers cannot hold their IDs exactly. */
export async function getPrefix(
  endpoint: string,
  prefix: string,
  extra: string[] = [],
): Promise<{
  revision: number;
  kvs: { key: string; value: Buffer; createRevision: number; modRevision: number; version: number }[];
}> {
  const out = JSON.parse(await etcdctl(['get', '--prefix', prefix, '-w', 'json', ...extra], endpoint));
  return {
    revision: Number(out.header.revision),
    kvs: (out.kvs ?? []).map((kv: Record<string, string | number>) => ({
      key: Buffer.from(String(kv.key), 'base64').toString(),
      value: Buffer.from(String(kv.value ?? ''), 'base64'),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
      version: Number(kv.version),
    })),
  };
}

export interface TreeStats {
  /** Page kinds from the `key` bucket's root down its leftmost path ([] when the bucket is inline). */
  keyLevels: string[];
  maxOverflow: number;
  /** The database's page count (high-water mark) and how many of them the tree reaches, metas included. */
  pages: number;
  reachable: number;
}

/** Walks every bucket of a (small enough to load) bbolt file to describe its shape. */
export async function treeStats(path: string): Promise<TreeStats> {
  const file = await readFile(path);
  const meta = decodeMeta(file, PAGE_HEADER_SIZE);
  const ps = meta.pageSize;
  const seen = new Set<number>([0, 1]);
  let maxOverflow = 0;
  let keyRoot = 0;
  const walk = (pgid: number): void => {
    const at = pgid * ps;
    const h = readPageHeader(file, at);
    for (let i = 0; i <= h.overflow; i++) seen.add(pgid + i);
    maxOverflow = Math.max(maxOverflow, h.overflow);
    for (let i = 0; i < h.count; i++) {
      const el = at + PAGE_HEADER_SIZE + i * 16;
      if (h.flags === BRANCH_PAGE) {
        walk(Number(file.readBigUInt64LE(el + 8)));
      } else if (file.readUInt32LE(el) & BUCKET_LEAF_FLAG) {
        const k = el + file.readUInt32LE(el + 4);
        const root = Number(file.readBigUInt64LE(k + file.readUInt32LE(el + 8)));
        if (file.subarray(k, k + file.readUInt32LE(el + 8)).toString() === 'key') keyRoot = root;
        if (root !== 0) walk(root);
      }
    }
  };
  walk(Number(meta.root));
  const keyLevels: string[] = [];
  for (let pgid = keyRoot; pgid !== 0;) {
    const h = readPageHeader(file, pgid * ps);
    keyLevels.push(
      h.flags === BRANCH_PAGE ? 'branch' : h.flags === LEAF_PAGE ? 'leaf' : `0x${h.flags.toString(16)}`,
    );
    pgid = h.flags === BRANCH_PAGE ? Number(file.readBigUInt64LE(pgid * ps + PAGE_HEADER_SIZE + 8)) : 0;
  }
  return { keyLevels, maxOverflow, pages: Number(meta.pgid), reachable: seen.size };
}
