import { rmSync } from 'fs';
import { Pool } from 'pg';
import { createPool, EventStore } from '@kubetime/event-store';
import { RpcCallError, RpcClient } from '../apps/cli/src/client';
import { startServer, stopServer, TestServer } from './support/server';
import { createTestDatabase, TestDatabase } from './support/database';

/**
 * Two server processes on one database, each with controllers on: the Lease decides which one runs
 * them. Short timings (6 s lease, 4 s renew deadline, 0.5 s retry) keep failover in seconds while
 * still telling a release (at once) from an expiry (a lease duration).
 */
const ELECTION = {
  KUBETIME_CONTROLLERS: 'on',
  KUBETIME_NODE_LEASE_INTERVAL_MS: '0',
  KUBETIME_LEADER_LEASE_DURATION_MS: '6000',
  KUBETIME_LEADER_RENEW_DEADLINE_MS: '4000',
  KUBETIME_LEADER_RETRY_PERIOD_MS: '500',
  LOG_LEVEL: 'info',
};

const DEPLOYMENT = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
`;

type Server = TestServer & { database: TestDatabase };

async function kubectl(server: Server, args: string[], input?: string): Promise<string> {
  const r = await server.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The identity a server logged when it started leading (since `from` in its output), if it did. */
function identityOf(server: Server, from = 0): string | undefined {
  for (const line of server.output().slice(from).split('\n')) {
    if (!line.includes('leading: controllers start')) continue;
    return JSON.parse(line).identity;
  }
  return undefined;
}

async function lease(server: Server) {
  return JSON.parse(
    await kubectl(server, ['get', 'lease', '-n', 'kube-system', 'kubetime-controller-manager', '-o', 'json']),
  ).spec as { holderIdentity: string; leaseDurationSeconds: number; leaseTransitions: number };
}

async function runningPods(server: Server, count: number): Promise<string[]> {
  return eventually(`${count} running pods`, async () => {
    const pods = JSON.parse(await kubectl(server, ['get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
    const running = pods.filter(
      (p: { status?: { phase?: string }; metadata: { deletionTimestamp?: string } }) =>
        p.status?.phase === 'Running' && !p.metadata.deletionTimestamp,
    );
    return pods.length === count && running.length === count
      ? running.map((p: { metadata: { name: string } }) => p.metadata.name).sort()
      : undefined;
  });
}

describe('leader election between two server processes on one database', () => {
  let database: TestDatabase;
  let a: Server;
  let b: Server;
  let pool: Pool;

  const podsCreated = async () =>
    Number(
      (
        await pool.query(
          `SELECT count(*) FROM events WHERE branch_id = 1 AND resource = 'pods' AND type = 'ADDED'`,
        )
      ).rows[0].count,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await startServer({ database, env: ELECTION });
    await eventually('a to lead', async () => identityOf(a));
    b = await startServer({ database, env: ELECTION });
    pool = new Pool({ connectionString: database.url, max: 2 });
  }, 120_000);

  afterAll(async () => {
    await pool?.end();
    await b?.stop();
    if (b) rmSync(b.dataDir, { recursive: true, force: true });
    if (a) await stopServer(a);
  });

  it('lets exactly one process hold the Lease and run controllers', async () => {
    const spec = await lease(b);
    expect(spec.holderIdentity).toBe(identityOf(a));
    expect(spec.leaseDurationSeconds).toBe(6);
    // Give the standby a few retry periods to (wrongly) start anything.
    await new Promise((r) => setTimeout(r, 1500));
    expect(identityOf(b)).toBeUndefined();
    expect(b.output()).not.toContain('controllers start from the head state');
    expect(b.output()).not.toContain('controllers resume');
    const events = JSON.parse(
      await kubectl(b, [
        'get',
        'events',
        '-n',
        'kube-system',
        '--field-selector',
        'reason=LeaderElection',
        '-o',
        'json',
      ]),
    ).items;
    expect(events.map((e: { message: string }) => e.message)).toContain(`${identityOf(a)} became leader`);
    expect(events[0].involvedObject).toMatchObject({ kind: 'Lease', name: 'kubetime-controller-manager' });
  });

  it('creates branches through the standby and runs their controllers in the leader only', async () => {
    const standby = await RpcClient.connect({ server: b.url, token: b.token, caPem: b.caPem });
    const leader = await RpcClient.connect({ server: a.url, token: a.token, caPem: a.caPem });
    try {
      await standby.call('branch.create', { name: 'side', clock: 'virtual' });
      const refused = await standby.call('clock.advance', { branch: 'side', seconds: 1 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(RpcCallError);
      expect((refused as RpcCallError).code).toBe(-32007);
      expect((refused as RpcCallError).message).toContain('kube-system/kubetime-controller-manager');
      // The leader finds the branch in the catalog within a retry period and runs its control plane.
      await eventually('the leader to run the branch', () =>
        leader.call('clock.advance', { branch: 'side', seconds: 1 }).then(() => true),
      );
      await standby.call('branch.delete', { name: 'side' });
    } finally {
      standby.close();
      leader.close();
    }
  });

  it('rolls out a Deployment created through the standby exactly once', async () => {
    await kubectl(b, ['apply', '-f', '-'], DEPLOYMENT(3));
    await runningPods(b, 3);
    expect(await podsCreated()).toBe(3);
    expect(identityOf(b)).toBeUndefined();
  }, 60_000);

  it('finalizes a namespace deleted through the standby (the namespace controller runs in the leader)', async () => {
    await kubectl(b, ['create', 'namespace', 'doomed']);
    await kubectl(b, ['create', 'configmap', 'inside', '-n', 'doomed']);
    await kubectl(b, ['delete', 'namespace', 'doomed', '--wait=false']);
    await eventually('the namespace to go', async () =>
      (await b.kubectl(['get', 'namespace', 'doomed'])).code !== 0 ? true : undefined,
    );
    expect((await b.kubectl(['get', 'configmap', 'inside', '-n', 'doomed'])).code).not.toBe(0);
  });

  it('fails over within about one lease duration after SIGKILL, and the survivor reconciles', async () => {
    const before = await lease(b);
    await a.kill();
    const killed = Date.now();
    await eventually('b to take the Lease', async () =>
      (await lease(b)).holderIdentity === identityOf(b) ? true : undefined,
    );
    const tookMs = Date.now() - killed;
    expect(tookMs).toBeLessThan(6000 + 4000);
    expect((await lease(b)).leaseTransitions).toBe(before.leaseTransitions + 1);

    await kubectl(b, ['scale', 'deployment', 'web', '--replicas=5']);
    await runningPods(b, 5);
    expect(await podsCreated()).toBe(5);
  }, 60_000);

  it('hands the Lease over at once on SIGTERM', async () => {
    const mark = a.output().length;
    await a.restart();
    await new Promise((r) => setTimeout(r, 1500));
    const aIdentity = () => identityOf(a, mark);
    // Restarted, a is the standby now.
    expect((await lease(a)).holderIdentity).toBe(identityOf(b));
    expect(aIdentity()).toBeUndefined();

    await b.stop();
    const stopped = Date.now();
    const holder = await eventually('a to take the Lease', async () => aIdentity());
    expect(Date.now() - stopped).toBeLessThan(3000);
    expect((await lease(a)).holderIdentity).toBe(holder);

    await kubectl(a, ['scale', 'deployment', 'web', '--replicas=4']);
    await runningPods(a, 4);
    expect(await podsCreated()).toBe(5);
  }, 60_000);
});

describe('controllers resume from their recorded progress', () => {
  let server: Server;
  let pool: Pool;
  const env = { ...ELECTION, KUBETIME_LEADER_ELECT: 'false' };

  const head = async () =>
    Number((await pool.query(`SELECT head_revision FROM branches WHERE id = 1`)).rows[0].head_revision);
  const controllerWritesAfter = async (revision: number) =>
    (
      await pool.query<{ actor: string; key: string }>(
        `SELECT actor, key FROM events WHERE branch_id = 1 AND revision > $1 AND cause IS NOT NULL ORDER BY revision`,
        [revision],
      )
    ).rows;
  const progress = async () =>
    new Map(
      (
        await pool.query<{ controller: string; revision: string }>(
          `SELECT controller, revision FROM controller_progress WHERE branch_id = 1`,
        )
      ).rows.map((r) => [r.controller, Number(r.revision)]),
    );

  beforeAll(async () => {
    server = await startServer({ env });
    pool = new Pool({ connectionString: server.databaseUrl, max: 2 });
  }, 60_000);

  afterAll(async () => {
    await pool?.end();
    if (server) await stopServer(server);
  });

  it('records the processed revision, repeats nothing on restart, and reconciles what changed meanwhile', async () => {
    await kubectl(server, ['apply', '-f', '-'], DEPLOYMENT(2));
    await runningPods(server, 2);
    const settled = await eventually('the ReplicaSet controller to record its progress', async () => {
      const rows = await progress();
      const revision = rows.get('replicaset-controller');
      return revision !== undefined && revision >= (await head()) - 5 ? rows : undefined;
    });
    expect(settled.get('deployment-controller')).toBeGreaterThan(0);

    await server.stop();
    const stoppedAt = await head();
    const recorded = await progress();
    expect(Math.max(...recorded.values())).toBeLessThanOrEqual(stoppedAt);

    await server.restart();
    await eventually('the restart to resume', async () =>
      server.output().includes('controllers resume from their recorded revisions') ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 2500));
    expect(await controllerWritesAfter(stoppedAt)).toEqual([]);

    // A change while the controllers are down is news to them when they come back.
    await server.stop();
    await server.restart({ KUBETIME_CONTROLLERS: 'off' });
    await kubectl(server, ['scale', 'deployment', 'web', '--replicas=3']);
    await server.stop();
    await server.restart({ KUBETIME_CONTROLLERS: 'on' });
    await runningPods(server, 3);
    const pods = await pool.query(
      `SELECT count(*) FROM events WHERE branch_id = 1 AND resource = 'pods' AND type = 'ADDED'`,
    );
    expect(Number(pods.rows[0].count)).toBe(3);
  }, 120_000);

  it('falls back to the head state when the recorded revision was compacted away', async () => {
    await server.stop();
    const before = await head();
    await pool.query(`UPDATE controller_progress SET revision = $1 WHERE branch_id = 1`, [before - 10]);
    const storePool = createPool(server.databaseUrl, { max: 2 });
    const store = await EventStore.open({ pool: storePool, url: server.databaseUrl });
    await store.compact('main', before, 'leader-election e2e');
    await store.close();
    await storePool.end();
    await server.restart();
    await eventually('the fallback', async () =>
      server.output().includes('recorded progress was compacted away') ? true : undefined,
    );
    await runningPods(server, 3);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await controllerWritesAfter(before)).toEqual([]);
  }, 60_000);
});
