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

  /** Polls `read` until `done` holds of its result, or fails with the last result after `ms`. */
  const until = async (read: () => Promise<string>, done: (out: string) => boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    let out = await read();
    while (!done(out)) {
      if (Date.now() > deadline) throw new Error(`timed out; last saw:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
      out = await read();
    }
    return out;
  };
  /** "image replicas" per ReplicaSet, one a line, by image (creation times tie within a second). */
  const replicaSets = async (selector: string) =>
    (
      await kubectl(
        'get',
        'rs',
        '-l',
        selector,
        '--no-headers',
        '-o',
        'custom-columns=IMAGE:.spec.template.spec.containers[0].image,DESIRED:.spec.replicas',
      )
    )
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/).join(' '))
      .sort()
      .join('\n');

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

  it('scales a paused Deployment without rolling it out, and rolls out on resume', async () => {
    await server.kubectl(['create', 'deployment', 'paused-web', '--image=nginx:1.25', '--replicas=2']);
    await kubectl('rollout', 'status', 'deployment/paused-web', '--timeout=30s');
    await kubectl('rollout', 'pause', 'deployment/paused-web');
    await kubectl('scale', 'deployment', 'paused-web', '--replicas=4');
    await until(
      () => kubectl('get', 'pods', '-l', 'app=paused-web', '--no-headers'),
      (out) => (out.match(/1\/1\s+Running/g) ?? []).length === 4,
    );
    expect(await replicaSets('app=paused-web')).toMatch(/^nginx:1\.25\s+4\s*$/);
    const paused = JSON.parse(await kubectl('get', 'deploy', 'paused-web', '-o', 'json'));
    expect(paused.status).toMatchObject({ replicas: 4, availableReplicas: 4, updatedReplicas: 4 });
    expect(paused.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused' }),
    );

    await kubectl('set', 'image', 'deployment/paused-web', 'nginx=nginx:1.26');
    // Give the controller time to (wrongly) start a rollout before checking it did not.
    await until(
      () => kubectl('get', 'deploy', 'paused-web', '-o', 'jsonpath={.status.observedGeneration}'),
      (out) => out === '4',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await replicaSets('app=paused-web')).toMatch(/^nginx:1\.25\s+4\s*$/);

    await kubectl('rollout', 'resume', 'deployment/paused-web');
    await kubectl('rollout', 'status', 'deployment/paused-web', '--timeout=30s');
    expect(await replicaSets('app=paused-web')).toMatch(/^nginx:1\.25\s+0\nnginx:1\.26\s+4\s*$/);
  });

  /** A Deployment of 3 whose rollout is stuck at one surge replica of an image no node can pull. */
  async function stuckRollout(name: string): Promise<void> {
    await server.kubectl(['create', 'deployment', name, '--image=nginx:1.25', '--replicas=3']);
    await kubectl(
      'patch',
      `deployment/${name}`,
      '-p',
      '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}',
    );
    await kubectl('rollout', 'status', `deployment/${name}`, '--timeout=30s');
    await kubectl('set', 'image', `deployment/${name}`, 'nginx=registry.invalid/nginx:1');
    await until(
      () => replicaSets(`app=${name}`),
      (out) => /^nginx:1\.25\s+3\nregistry\.invalid\/nginx:1\s+1\s*$/.test(out),
    );
  }

  /** Scales to 6: 7 replicas allowed (6 + maxSurge 1) over 3 of 4 and 1 of 4, 5.25 and 1.75, rounded. */
  async function scaleProportionally(name: string): Promise<void> {
    await kubectl('scale', 'deployment', name, '--replicas=6');
    await until(
      () => replicaSets(`app=${name}`),
      (out) => /^nginx:1\.25\s+5\nregistry\.invalid\/nginx:1\s+2\s*$/.test(out),
    );
  }

  it('scales a paused Deployment in the middle of a rollout proportionally', async () => {
    await stuckRollout('paused-split');
    await kubectl('rollout', 'pause', 'deployment/paused-split');
    await scaleProportionally('paused-split');
  });

  it('scales a Deployment in the middle of a rollout proportionally, as a scaling event upstream', async () => {
    await stuckRollout('split');
    await scaleProportionally('split');
  });

  it('shows the command recorded with --record as the CHANGE-CAUSE', async () => {
    await server.kubectl(['create', 'deployment', 'recorded', '--image=nginx:1.25']);
    await kubectl('rollout', 'status', 'deployment/recorded', '--timeout=30s');
    const set = await server.kubectl(['set', 'image', 'deployment/recorded', 'nginx=nginx:1.26', '--record']);
    expect(set.code).toBe(0);
    await kubectl('rollout', 'status', 'deployment/recorded', '--timeout=30s');
    const cause = await kubectl(
      'get',
      'deploy',
      'recorded',
      '-o',
      'jsonpath={.metadata.annotations.kubernetes\\.io/change-cause}',
    );
    // kubectl records its own command line, the harness's connection flags included.
    expect(cause).toMatch(/^kubectl set image deployment\/recorded nginx=nginx:1\.26 .*--record=true$/);
    const history = await kubectl('rollout', 'history', 'deployment/recorded');
    expect(history.split('\n').map((line) => line.trim().split(/\s+/))).toEqual(
      expect.arrayContaining([
        ['REVISION', 'CHANGE-CAUSE'],
        ['1', '<none>'],
        ['2', ...cause.split(' ')],
      ]),
    );
  });

  /** A bare ReplicaSet, so no Deployment makes a new one once it is gone. */
  const replicaSet = (name: string, finalizers?: string[]) =>
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, labels: { app: name } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name }, ...(finalizers ? { finalizers } : {}) },
          spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] },
        },
      },
    });
  const podsOf = async (app: string) =>
    JSON.parse(await kubectl('get', 'pods', '-l', `app=${app}`, '-o', 'json')).items as {
      metadata: {
        name: string;
        deletionTimestamp?: string;
        finalizers?: string[];
        ownerReferences?: unknown[];
      };
      status: { phase: string };
    }[];

  it('deletes a ReplicaSet with --cascade=orphan and leaves its pods running, released', async () => {
    expect((await server.kubectl(['apply', '-f', '-'], replicaSet('orphans'))).code).toBe(0);
    await until(
      () => kubectl('get', 'pods', '-l', 'app=orphans', '--no-headers'),
      (out) => (out.match(/1\/1\s+Running/g) ?? []).length === 2,
    );
    const before = (await podsOf('orphans')).map((p) => p.metadata.name).sort();
    expect(await kubectl('delete', 'rs', 'orphans', '--cascade=orphan')).toContain(
      'replicaset.apps "orphans" deleted',
    );
    expect((await server.kubectl(['get', 'rs', 'orphans'])).stderr).toContain('NotFound');
    // Long enough for a garbage collector that wrongly deletes them to have started.
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await podsOf('orphans');
    expect(after.map((p) => p.metadata.name).sort()).toEqual(before);
    for (const pod of after) {
      expect(pod.metadata.ownerReferences).toBeUndefined();
      expect(pod.metadata.deletionTimestamp).toBeUndefined();
      expect(pod.status.phase).toBe('Running');
    }
  });

  it('deletes a ReplicaSet with --cascade=foreground: dependents first, then the owner', async () => {
    // The pods' own finalizer holds them (and so their owner) in deletion until the test releases them.
    const hold = 'example.com/hold';
    expect((await server.kubectl(['apply', '-f', '-'], replicaSet('fg', [hold]))).code).toBe(0);
    await until(
      () => kubectl('get', 'pods', '-l', 'app=fg', '--no-headers'),
      (out) => (out.match(/1\/1\s+Running/g) ?? []).length === 2,
    );
    await kubectl('delete', 'rs', 'fg', '--cascade=foreground', '--wait=false');
    const owner = JSON.parse(await kubectl('get', 'rs', 'fg', '-o', 'json'));
    expect(owner.metadata.finalizers).toEqual(['foregroundDeletion']);
    expect(owner.metadata.deletionTimestamp).toBeDefined();
    const pods = await until(
      async () => JSON.stringify(await podsOf('fg')),
      (out) =>
        (JSON.parse(out) as { metadata: { deletionTimestamp?: string } }[]).every(
          (p) => p.metadata.deletionTimestamp,
        ),
    ).then((out) => JSON.parse(out) as Awaited<ReturnType<typeof podsOf>>);
    expect(pods).toHaveLength(2);
    // Pods have no dependents of their own: upstream deletes them in the background.
    for (const pod of pods) expect(pod.metadata.finalizers).toEqual([hold]);
    await new Promise((r) => setTimeout(r, 500));
    expect(
      JSON.parse(await kubectl('get', 'rs', 'fg', '-o', 'json')).metadata.deletionTimestamp,
    ).toBeDefined();

    for (const pod of pods)
      await kubectl(
        'patch',
        'pod',
        pod.metadata.name,
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/metadata/finalizers"}]',
      );
    await until(
      async () => (await server.kubectl(['get', 'rs,pods', '-l', 'app=fg', '--no-headers'])).stdout.trim(),
      (out) => out === '',
    );
    expect((await server.kubectl(['get', 'rs', 'fg'])).stderr).toContain('NotFound');
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
