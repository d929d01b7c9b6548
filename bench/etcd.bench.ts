import { spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import http from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { Figure, closedLoop, fmtMs, fmtRate, log, now, printTable, seconds, section, sleep } from './harness';
import { configMap } from './payload';
import { freePort, onPath, stopChild, versionOf } from './processes';

/**
 * Figure 3: a real single-member etcd on loopback, as the reference for what a Kubernetes control plane
 * normally writes to. Debian's etcd 3.4 ships no `benchmark` tool and no Node gRPC client is installed,
 * so puts go through etcd's own JSON gRPC gateway over keep-alive HTTP/1.1, which costs etcd some
 * throughput; the figure is a reference, not etcd's best case.
 */

export const ETCD_CONCURRENCY = [32, 256];

export interface EtcdResult {
  concurrency: number;
  rate: number;
  p50: number;
  p99: number;
}

function put(agent: http.Agent, port: number, key: string, value: string): Promise<void> {
  const body = JSON.stringify({
    key: Buffer.from(key).toString('base64'),
    value: Buffer.from(value).toString('base64'),
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v3/kv/put',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve()
            : reject(new Error(`etcd put ${res.statusCode}: ${text.slice(0, 200)}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function ready(port: number, deadlineMs: number): Promise<boolean> {
  const agent = new http.Agent({ keepAlive: false });
  const until = now() + deadlineMs;
  while (now() < until) {
    try {
      await put(agent, port, '/kubetime-bench/ready', 'x');
      return true;
    } catch {
      await sleep(100);
    }
  }
  return false;
}

/** Returns undefined (after printing why) when etcd is not installed. */
export async function runEtcd(): Promise<{ figures: Figure[]; results?: EtcdResult[] }> {
  section('Figure 3: etcd put throughput (reference), same ~1 KB values');
  const binary = onPath('etcd');
  if (!binary) {
    log('  SKIP etcd reference: `etcd` is not on PATH (Debian: apt-get install -y etcd-server etcd-client)');
    return {
      figures: [
        {
          figure: '3 etcd put/s (reference)',
          measured: 'skipped',
          reference: '-',
          goal: 'reference only',
          verdict: 'skipped',
        },
      ],
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'kubetime-bench-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    binary,
    [
      '--name',
      'bench',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `bench=${peer}`,
      '--initial-cluster-state',
      'new',
      // Large enough that a run of 1 KB puts never trips the space alarm.
      '--quota-backend-bytes',
      String(4 * 1024 * 1024 * 1024),
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  try {
    if (!(await ready(clientPort, 20_000))) throw new Error(`etcd did not become ready:\n${stderr}`);
    log(
      `  ${versionOf(binary)}, single member on 127.0.0.1:${clientPort}, temp data dir, fsync on (etcd default)`,
    );
    const value = JSON.stringify(configMap('etcd-value'));
    const rows = [['concurrency', 'puts', 'puts/s', 'p50', 'p99']];
    const results: EtcdResult[] = [];
    let seq = 0;
    for (const concurrency of ETCD_CONCURRENCY) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
      const r = await closedLoop(concurrency, { count: 300_000, ms: seconds(6) * 1000 }, () =>
        put(agent, clientPort, `/registry/configmaps/bench/etcd-${seq++}`, value),
      );
      agent.destroy();
      if (r.failed) throw r.firstError;
      const [p50, p99] = r.latencies.percentiles(50, 99);
      const rate = r.done / (r.elapsedMs / 1000);
      results.push({ concurrency, rate, p50, p99 });
      rows.push([String(concurrency), String(r.done), fmtRate(rate), fmtMs(p50), fmtMs(p99)]);
    }
    printTable(rows);
    return {
      figures: results.map((r) => ({
        figure: `3 etcd put/s @${r.concurrency} (reference)`,
        measured: `${fmtRate(r.rate)}, p50 ${fmtMs(r.p50)}, p99 ${fmtMs(r.p99)}`,
        reference: 'JSON gateway, keep-alive',
        goal: 'reference only',
        verdict: 'n/a' as const,
      })),
      results,
    };
  } finally {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runEtcd()
    .then(() => process.exit(0))
    .catch((error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}
