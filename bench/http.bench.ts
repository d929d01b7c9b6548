import { spawn } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import https from 'https';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { parse } from 'yaml';
import {
  Figure,
  closedLoop,
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
import { configMap } from './payload';
import { freePort, stopChild } from './processes';

/**
 * Figure 2: ConfigMap creates through the real HTTPS API, as kubectl or a controller would send them:
 * bearer token, keep-alive connections, 32 clients each with one request in flight. The server runs as
 * its own process, the way `npm start` runs it, on the same two cores as the load generator.
 */

const CLIENTS = 32;
const SERVER_ENTRY =
  process.env.KUBETIME_BENCH_SERVER_ENTRY ?? resolve(__dirname, '../../dist/apps/server/src/main.js');

interface Connection {
  port: number;
  token: string;
  ca: string;
}

function readKubeconfig(path: string, port: number): Connection | undefined {
  try {
    const doc = parse(readFileSync(path, 'utf8')) as {
      clusters?: { cluster?: { 'certificate-authority-data'?: string } }[];
      users?: { user?: { token?: string } }[];
    };
    const caData = doc.clusters?.[0]?.cluster?.['certificate-authority-data'];
    const token = doc.users?.[0]?.user?.token;
    if (!caData || !token) return undefined;
    return { port, token, ca: Buffer.from(caData, 'base64').toString('utf8') };
  } catch {
    // Written atomically by the server, but be tolerant of reading it mid-replace.
    return undefined;
  }
}

function request(
  agent: https.Agent,
  c: Connection,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolveRequest, reject) => {
    const headers: Record<string, string | number> = {
      authorization: `Bearer ${c.token}`,
      accept: 'application/json',
    };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = https.request(
      { host: '127.0.0.1', port: c.port, path, method, agent, ca: c.ca, headers, timeout: 30_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolveRequest({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function runHttp(etcdAt32?: { rate: number; p50: number; p99: number }): Promise<Figure[]> {
  section(`Figure 2: HTTP create throughput, ${CLIENTS} keep-alive HTTPS clients, ~1 KB ConfigMaps`);
  if (!existsSync(SERVER_ENTRY)) {
    log('  SKIP HTTP bench: the server is not built (run `npm run build` first)');
    return [
      {
        figure: '2 HTTP creates/s',
        measured: 'skipped',
        reference: '-',
        goal: '>= 5,000/s',
        verdict: 'skipped',
      },
    ];
  }
  const db = await scratchDatabase('http');
  const dataDir = mkdtempSync(join(tmpdir(), 'kubetime-bench-http-'));
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      KUBETIME_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      // The write path alone: simulated nodes and controllers would share the two cores.
      KUBETIME_CONTROLLERS: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const agent = new https.Agent({ keepAlive: true, maxSockets: CLIENTS });
  try {
    let connection: Connection | undefined;
    const deadline = now() + 60_000;
    while (!connection && now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
      const candidate = readKubeconfig(join(dataDir, 'kubeconfig'), port);
      if (candidate) {
        const ok = await request(agent, candidate, 'GET', '/readyz').then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) connection = candidate;
      }
      if (!connection) await sleep(200);
    }
    if (!connection) throw new Error(`server was not ready within 60 s:\n${output}`);
    const c = connection;

    let seq = 0;
    const create = async () => {
      const name = `http-${seq++}`;
      const r = await request(
        agent,
        c,
        'POST',
        '/api/v1/namespaces/default/configmaps',
        JSON.stringify(configMap(name, 'default')),
      );
      if (r.status !== 201) throw new Error(`create ${name}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    };
    // Warm-up: TLS handshakes for all 32 sockets, JIT, the first group commits.
    const warm = await closedLoop(CLIENTS, { count: 2_000, ms: seconds(1.5) * 1000 }, create);
    if (warm.failed) throw warm.firstError;
    const r = await closedLoop(CLIENTS, { count: 400_000, ms: seconds(8) * 1000 }, create);
    if (r.failed && !r.done) throw r.firstError;
    const rate = r.done / (r.elapsedMs / 1000);
    const [p50, p99] = r.latencies.percentiles(50, 99);
    const rows = [
      ['target', 'clients', 'requests', 'failed', 'per second', 'p50', 'p99'],
      [
        'kubetime POST configmaps (HTTPS)',
        String(CLIENTS),
        String(r.done),
        String(r.failed),
        fmtRate(rate),
        fmtMs(p50),
        fmtMs(p99),
      ],
    ];
    if (etcdAt32)
      rows.push([
        'etcd put, JSON gateway (reference)',
        '32',
        '',
        '',
        fmtRate(etcdAt32.rate),
        fmtMs(etcdAt32.p50),
        fmtMs(etcdAt32.p99),
      ]);
    printTable(rows);
    if (r.failed)
      log(`  first failure: ${r.firstError instanceof Error ? r.firstError.message : String(r.firstError)}`);
    return [
      {
        figure: '2 HTTP creates/s @32 clients',
        measured: `${fmtRate(rate)}, p50 ${fmtMs(p50)}, p99 ${fmtMs(p99)}`,
        reference: etcdAt32 ? `etcd put ${fmtRate(etcdAt32.rate)}` : 'etcd not run',
        goal: '>= 5,000/s',
        verdict: rate >= 5000 && !r.failed ? 'met' : 'missed',
      },
    ];
  } finally {
    agent.destroy();
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
}

if (require.main === module) {
  runHttp()
    .then(() => process.exit(0))
    .catch((error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}
