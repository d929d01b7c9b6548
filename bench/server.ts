import { ChildProcess, spawn } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import https from 'https';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { parse } from 'yaml';
import { now, ScratchDatabase, scratchDatabase, sleep } from './harness';
import { freePort, stopChild } from './processes';

/** The built server; `npm run build` writes it. */
export const SERVER_ENTRY =
  process.env.KUBETIME_BENCH_SERVER_ENTRY ?? resolve(__dirname, '../../dist/apps/server/src/main.js');

export interface Connection {
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

export function request(
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

/** A built server running as a child process on its own scratch database and data dir. */
export interface BenchServer {
  child: ChildProcess;
  pid: number;
  db: ScratchDatabase;
  connection: Connection;
  /** One keep-alive agent for the bench's requests, sized for `sockets` in flight. */
  agent: https.Agent;
  /** The last few KB the server printed, for error messages. */
  output(): string;
  /** Stops the child by PID, removes the data dir and drops the database. */
  stop(): Promise<void>;
}

/**
 * Starts `node <SERVER_ENTRY>` the way `npm start` runs it, with `env` on top of the bench's own
 * environment, and waits (at most 60 s) for its kubeconfig and `/readyz`. Everything it created is
 * undone if it does not come up.
 */
export async function startServer(
  label: string,
  env: Record<string, string>,
  options: { sockets: number; nodeArgs?: string[] },
): Promise<BenchServer> {
  if (!existsSync(SERVER_ENTRY)) throw new Error(`${SERVER_ENTRY} is missing: run \`npm run build\` first`);
  const db = await scratchDatabase(label);
  const dataDir = mkdtempSync(join(tmpdir(), `kubetime-bench-${label}-`));
  const port = await freePort();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), SERVER_ENTRY], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      KUBETIME_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const agent = new https.Agent({ keepAlive: true, maxSockets: options.sockets });
  const stop = async () => {
    agent.destroy();
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  };
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
    return { child, pid: child.pid!, db, connection, agent, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
