import { existsSync } from 'fs';
import { Figure, closedLoop, fmtMs, fmtRate, log, printTable, seconds, section } from './harness';
import { configMap } from './payload';
import { cpuSeconds } from './processes';
import { request, SERVER_ENTRY, startServer } from './server';

/**
 * Figure 2: ConfigMap creates through the real HTTPS API, as kubectl or a controller would send them:
 * bearer token, keep-alive connections, 32 clients each with one request in flight. The server runs as
 * its own process, the way `npm start` runs it, on the same two cores as the load generator.
 */

const CLIENTS = 32;
/** When set, the server writes a V8 CPU profile (`http.cpuprofile`) into this directory on exit. */
const CPU_PROFILE_DIR = process.env.KUBETIME_BENCH_HTTP_CPU_PROF;

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
  // The write path alone: simulated nodes and controllers would share the two cores.
  const server = await startServer(
    'http',
    { KUBETIME_CONTROLLERS: 'off' },
    {
      sockets: CLIENTS,
      nodeArgs: CPU_PROFILE_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}`, '--cpu-prof-name=http.cpuprofile']
        : [],
    },
  );
  const { agent, connection: c } = server;
  try {
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
    const cpuBefore = cpuSeconds(server.pid);
    const r = await closedLoop(CLIENTS, { count: 400_000, ms: seconds(8) * 1000 }, create);
    const cpuAfter = cpuSeconds(server.pid);
    if (r.failed && !r.done) throw r.firstError;
    const rate = r.done / (r.elapsedMs / 1000);
    const cpuPerRequest =
      cpuBefore !== undefined && cpuAfter !== undefined && r.done
        ? `${Math.round(((cpuAfter - cpuBefore) * 1e6) / r.done)} µs`
        : '-';
    const [p50, p99] = r.latencies.percentiles(50, 99);
    const rows = [
      ['target', 'clients', 'requests', 'failed', 'per second', 'p50', 'p99', 'server CPU/request'],
      [
        'kubetime POST configmaps (HTTPS)',
        String(CLIENTS),
        String(r.done),
        String(r.failed),
        fmtRate(rate),
        fmtMs(p50),
        fmtMs(p99),
        cpuPerRequest,
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
        '',
      ]);
    printTable(rows);
    if (r.failed)
      log(`  first failure: ${r.firstError instanceof Error ? r.firstError.message : String(r.firstError)}`);
    return [
      {
        figure: '2 HTTP creates/s @32 clients',
        measured: `${fmtRate(rate)}, p50 ${fmtMs(p50)}, p99 ${fmtMs(p99)}, server CPU ${cpuPerRequest}/request`,
        reference: etcdAt32 ? `etcd put ${fmtRate(etcdAt32.rate)}` : 'etcd not run',
        goal: '>= 5,000/s',
        verdict: rate >= 5000 && !r.failed ? 'met' : 'missed',
      },
    ];
  } finally {
    await server.stop();
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
