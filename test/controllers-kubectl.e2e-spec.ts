import { ResourceStore } from '@kubetime/apiserver';
import { createPool, EventStore } from '@kubetime/event-store';
import { ControllerManager, startControllers } from '../libs/controllers/src';
import { startServer, stopServer, TestServer } from './support/server';
import { TestDatabase } from './support/database';

/** Seed 004's Deployment, as users apply it. */
const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-nginx-deployment
spec:
  replicas: 3
  selector:
    matchLabels:
      app: my-nginx
  template:
    metadata:
      name: my-nginx-pod
      labels:
        app: my-nginx
    spec:
      containers:
      - name: nginx
        image: nginx:latest
        ports:
        - containerPort: 80
`;

/**
 * Seed 004's session with the real kubectl against a spawned server. Until the server starts the
 * controllers itself, they run here against the same database, as a separate controller process
 * would: their writes reach the server through the log and its NOTIFY.
 */
describe('controllers with the real kubectl (seed 004)', () => {
  let server: TestServer & { database: TestDatabase };
  let store: EventStore;
  let pool: ReturnType<typeof createPool>;
  let controllers: ControllerManager;

  const kubectl = async (...args: string[]) => {
    const r = await server.kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    server = await startServer();
    pool = createPool(server.databaseUrl, { max: 4 });
    store = await EventStore.open({ pool, url: server.databaseUrl });
    controllers = await startControllers({
      events: store,
      resources: new ResourceStore(store),
      nodes: { leaseRenewIntervalMs: 0 },
      kubelet: { startDelayMs: 100, maxGracePeriodMs: 200 },
    });
  });

  afterAll(async () => {
    await controllers?.stop();
    await store?.close();
    await pool?.end();
    if (server) await stopServer(server);
  });

  it('applies, rolls out, sets an image, shows history and undoes to revision 1', async () => {
    const applied = await server.kubectl(['apply', '-f', '-'], MANIFEST);
    expect(applied.stdout).toContain('deployment.apps/my-nginx-deployment created');
    expect(await kubectl('rollout', 'status', 'deployment/my-nginx-deployment', '--timeout=30s')).toContain(
      'deployment "my-nginx-deployment" successfully rolled out',
    );
    const firstRs = (await kubectl('get', 'rs', '-o', 'jsonpath={.items[0].metadata.name}')).trim();
    expect(firstRs).toMatch(/^my-nginx-deployment-[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(await kubectl('get', 'pods', '--no-headers')).toMatch(
      new RegExp(`${firstRs}-\\w{5}\\s+1/1\\s+Running`),
    );

    await kubectl('set', 'image', 'deployment', 'my-nginx-deployment', 'nginx=nginx:1.11');
    expect(await kubectl('rollout', 'status', 'deployment/my-nginx-deployment', '--timeout=30s')).toContain(
      'successfully rolled out',
    );
    const history = await kubectl('rollout', 'history', 'deployment', 'my-nginx-deployment');
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);

    expect(
      await kubectl('rollout', 'undo', 'deployment', 'my-nginx-deployment', '--to-revision=1'),
    ).toContain('rolled back');
    expect(await kubectl('rollout', 'status', 'deployment/my-nginx-deployment', '--timeout=30s')).toContain(
      'successfully rolled out',
    );
    const sets = await kubectl(
      'get',
      'rs',
      '--no-headers',
      '-o',
      'custom-columns=NAME:.metadata.name,DESIRED:.spec.replicas,REV:.metadata.annotations.deployment\\.kubernetes\\.io/revision',
    );
    expect(sets).toMatch(new RegExp(`${firstRs}\\s+3\\s+3`));
    expect(
      await kubectl(
        'get',
        'deploy',
        'my-nginx-deployment',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}',
      ),
    ).toBe('nginx:latest');
    expect(await kubectl('rollout', 'history', 'deployment', 'my-nginx-deployment')).toMatch(
      /\n2\s+<none>\n3\s+<none>/,
    );
  });

  it('scales, shows the event chain, and deletes in cascade', async () => {
    await kubectl('scale', 'deployment', 'my-nginx-deployment', '--replicas=5');
    expect(await kubectl('rollout', 'status', 'deployment/my-nginx-deployment', '--timeout=30s')).toContain(
      'successfully rolled out',
    );
    expect((await kubectl('get', 'pods', '--no-headers')).trim().split('\n')).toHaveLength(5);
    const events = await kubectl('get', 'events', '--sort-by=.metadata.creationTimestamp');
    for (const reason of [
      'ScalingReplicaSet',
      'SuccessfulCreate',
      'Scheduled',
      'Pulling',
      'Pulled',
      'Created',
      'Started',
    ])
      expect(events).toContain(reason);
    await kubectl('delete', 'deployment', 'my-nginx-deployment');
    const deadline = Date.now() + 15_000;
    let left = '';
    do {
      left = (await server.kubectl(['get', 'rs,pods', '--no-headers'])).stdout.trim();
      if (!left) break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < deadline);
    expect(left).toBe('');
  });

  it('answers kubectl logs as a cluster does: refusals from the apiserver and the kubelet, an empty log once running', async () => {
    const pods = `apiVersion: v1
kind: Pod
metadata:
  name: slow
  annotations:
    kubetime.io/pull-time: 1h
spec:
  containers:
  - name: web
    image: nginx:latest
---
apiVersion: v1
kind: Pod
metadata:
  name: pair
spec:
  containers:
  - name: a
    image: nginx:latest
  - name: b
    image: nginx:latest
`;
    expect((await server.kubectl(['apply', '-f', '-'], pods)).code).toBe(0);
    await kubectl('wait', '--for=condition=Ready', 'pod/pair', '--timeout=30s');
    const deadline = Date.now() + 15_000;
    while (
      (await kubectl(
        'get',
        'pod',
        'slow',
        '-o',
        'jsonpath={.status.containerStatuses[0].state.waiting.reason}',
      )) !== 'ContainerCreating' &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 100));

    const waiting = await server.kubectl(['logs', 'slow']);
    expect(waiting.code).not.toBe(0);
    expect(waiting.stderr.trim()).toBe(
      'Error from server (BadRequest): container "web" in pod "slow" is waiting to start: ContainerCreating',
    );
    // kubectl picks the first container itself; the apiserver's own choice shows through the raw path.
    const running = await server.kubectl(['logs', 'pair']);
    expect(running).toMatchObject({ code: 0, stdout: '' });
    expect(running.stderr).toContain('Defaulted container "a" out of: a, b');
    expect(await kubectl('logs', 'pair', '-c', 'b')).toBe('');
    const unnamed = await server.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/pair/log']);
    expect(unnamed.stderr.trim()).toBe(
      'Error from server (BadRequest): a container name must be specified for pod pair, choose one of: [a b]',
    );
    const unknown = await server.kubectl([
      'get',
      '--raw',
      '/api/v1/namespaces/default/pods/pair/log?container=c',
    ]);
    expect(unknown.stderr.trim()).toBe(
      'Error from server (BadRequest): container c is not valid for pod pair',
    );
    const missing = await server.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/nope/log']);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): pods "nope" not found');
    await kubectl('delete', 'pod', 'slow', 'pair', '--wait=false');
  });
});
