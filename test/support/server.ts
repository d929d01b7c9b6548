import { ChildProcess, execFile, spawn } from 'child_process';
import { mkdtempSync, existsSync, readFileSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { promisify } from 'util';
import { parse } from 'yaml';
import { createTestDatabase, TestDatabase } from './database';

const run = promisify(execFile);
const SERVER_ENTRY = resolve(__dirname, '../../dist/apps/server/src/main.js');

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  kubeconfig: string;
  token: string;
  caPem: string;
  databaseUrl: string;
  process: ChildProcess;
  output(): string;
  kubectl(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  /** Starts the server again on the same database and data dir, with extra environment if given. */
  restart(env?: Record<string, string>): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Starts the built server (`npm test` builds first) as a child process on a loopback port with its
 * own database and data dir, the way `npm start` runs it.
 */
export async function startServer(
  options: { database?: TestDatabase; env?: Record<string, string> } = {},
): Promise<TestServer & { database: TestDatabase }> {
  if (!existsSync(SERVER_ENTRY))
    throw new Error('the server is not built: run `npm run build` (npm test does)');
  const database = options.database ?? (await createTestDatabase());
  const dataDir = mkdtempSync(join(tmpdir(), 'kubetime-e2e-'));
  const cacheDir = join(dataDir, 'kubectl-cache');
  const port = await freePort();
  let logs = '';
  const state: { child?: ChildProcess } = {};
  // Suites that count events or diff exact revisions run without the built-in controllers, whose
  // writes (leases, pods) would interleave; controller suites turn them on.
  let extraEnv: Record<string, string> = { KUBETIME_CONTROLLERS: 'off', ...options.env };

  const launch = async () => {
    const child = spawn(process.execPath, [SERVER_ENTRY], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        KUBETIME_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (logs += d));
    child.stderr!.on('data', (d) => (logs += d));
    state.child = child;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${logs}`);
      if (
        existsSync(join(dataDir, 'kubeconfig')) &&
        (await probe(port, credentials(join(dataDir, 'kubeconfig')).caPem))
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await launch();

  const kubeconfig = join(dataDir, 'kubeconfig');
  const server: TestServer & { database: TestDatabase } = {
    url: `https://127.0.0.1:${port}`,
    port,
    dataDir,
    kubeconfig,
    database,
    databaseUrl: database.url,
    get process() {
      return state.child!;
    },
    get token() {
      return credentials(kubeconfig).token;
    },
    get caPem() {
      return credentials(kubeconfig).caPem;
    },
    output: () => logs,
    async kubectl(args, input) {
      return kubectl(kubeconfig, cacheDir, args, input);
    },
    async stop() {
      const child = state.child!;
      // Nest re-raises SIGTERM after its shutdown hooks, so a stopped server has a signal, not a code.
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      const child = state.child!;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    async restart(env) {
      if (env) extraEnv = { ...extraEnv, ...env };
      await launch();
    },
  };
  return server;
}

export async function stopServer(server: TestServer & { database: TestDatabase }): Promise<void> {
  await server.stop();
  await server.database.drop();
  rmSync(server.dataDir, { recursive: true, force: true });
}

/** The admin token and CA, read back from the kubeconfig the server wrote, as kubectl reads them. */
function credentials(kubeconfig: string): { token: string; caPem: string } {
  const config = parse(readFileSync(kubeconfig, 'utf8'));
  return {
    token: config.users[0].user.token,
    caPem: Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8'),
  };
}

async function probe(port: number, ca: string): Promise<boolean> {
  const https = await import('https');
  return new Promise((r) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/readyz', ca, timeout: 1000 }, (res) => {
      res.resume();
      r(res.statusCode === 200);
    });
    req.on('error', () => r(false));
  });
}

export async function kubectl(
  kubeconfig: string,
  cacheDir: string,
  args: string[],
  input?: string,
): Promise<{ stdout: string; stderr: string; code: number }> {
  const full = ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args];
  if (input !== undefined) {
    return new Promise((r) => {
      const child = spawn('kubectl', full, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => r({ stdout, stderr, code: code ?? -1 }));
      child.stdin.end(input);
    });
  }
  try {
    const { stdout, stderr } = await run('kubectl', full, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
  }
}
