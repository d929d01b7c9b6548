import { spawn } from 'child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'fs/promises';
import { createServer } from 'net';
import { tmpdir, userInfo } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres';

const silent = { info: () => undefined, warn: () => undefined };

async function queryOne(url: string, sql: string): Promise<Record<string, unknown>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows[0];
  } finally {
    await client.end();
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/**
 * One cluster for the whole file: initdb is the slow part, and the later cases are exactly about
 * restarting an existing cluster in its various leftover states.
 */
describe('startEmbeddedPostgres', () => {
  // Laid out as the server does it, `<data dir>/postgres`, with a data dir private to its owner.
  let dataDir: string;
  let dir: string;
  let running: EmbeddedPostgres | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kubetime-pg-'));
    dir = join(dataDir, 'postgres');
  });
  afterAll(async () => {
    await running?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('initialises a cluster, creates the kubetime database and answers queries', async () => {
    running = await startEmbeddedPostgres(dir, silent);
    expect(new URL(running.url).hostname).toBe('127.0.0.1');
    expect(new URL(running.url).pathname).toBe('/kubetime');
    expect(await queryOne(running.url, 'SELECT 1 AS one, current_database() AS db')).toEqual({
      one: 1,
      db: 'kubetime',
    });
    await queryOne(running.url, 'CREATE TABLE kept AS SELECT 42 AS id');
    expect((await stat(join(dir, 'password'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'postgres.log'), 'utf8')).toContain('ready to accept connections');
    // As root PostgreSQL runs as another user, who must be able to reach into the private data dir.
    const runsAsAnotherUser = userInfo().uid === 0;
    expect((await stat(dataDir)).mode & 0o777).toBe(runsAsAnotherUser ? 0o701 : 0o700);
  });

  it('stops, then starts again on the same port with the data kept', async () => {
    const { url } = running!;
    await running!.stop();
    await running!.stop();
    running = undefined;
    await expect(queryOne(url, 'SELECT 1')).rejects.toThrow();
    running = await startEmbeddedPostgres(dir, silent);
    expect(running.url).toBe(url);
    expect(await queryOne(running.url, 'SELECT id FROM kept')).toEqual({ id: 42 });
  });

  it('adopts a postmaster left running by a killed parent', async () => {
    const orphanUrl = running!.url;
    const warn = jest.fn();
    const adopted = await startEmbeddedPostgres(dir, { ...silent, warn });
    expect(warn).toHaveBeenCalledWith(expect.anything(), expect.stringContaining('reusing'));
    expect(adopted.url).toBe(orphanUrl);
    expect(await queryOne(adopted.url, 'SELECT id FROM kept')).toEqual({ id: 42 });
    await adopted.stop();
    running = undefined;
    await expect(queryOne(orphanUrl, 'SELECT 1')).rejects.toThrow();
  });

  it.each([
    ['a process that has exited', async () => exitedPid()],
    ['a live process that is not PostgreSQL', async () => process.pid],
  ])('ignores a stale postmaster.pid naming %s', async (_case, pid) => {
    const lock = join(dir, 'cluster', 'postmaster.pid');
    await writeFile(lock, `${await pid()}\n${join(dir, 'cluster')}\n0\n5432\n\n127.0.0.1\n0 0\nready\n`);
    const warn = jest.fn();
    running = await startEmbeddedPostgres(dir, { ...silent, warn });
    expect(warn).toHaveBeenCalledWith(expect.anything(), expect.stringContaining('stale postmaster.pid'));
    expect(await queryOne(running.url, 'SELECT id FROM kept')).toEqual({ id: 42 });
    await running.stop();
    running = undefined;
  });

  it('moves to another port when the remembered one is taken', async () => {
    const remembered = Number((await readFile(join(dir, 'port'), 'utf8')).trim());
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(remembered, '127.0.0.1', resolve));
    try {
      running = await startEmbeddedPostgres(dir, silent);
      expect(portOf(running.url)).not.toBe(remembered);
      expect(await queryOne(running.url, 'SELECT id FROM kept')).toEqual({ id: 42 });
      expect(Number((await readFile(join(dir, 'port'), 'utf8')).trim())).toBe(portOf(running.url));
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

function exitedPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0']);
    child.once('error', reject);
    child.once('exit', () => resolve(child.pid!));
  });
}
