import { readFileSync } from 'fs';
import { join } from 'path';
import { spawn } from 'child_process';
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';

const SEED_004 = join(__dirname, 'fixtures/seed-004.yaml');

describe('the real kubectl against kubetime', () => {
  let server: TestServer & { database: TestDatabase };

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    if (server) await stopServer(server);
  });

  async function ok(args: string[], input?: string): Promise<string> {
    const result = await server.kubectl(args, input);
    if (result.code !== 0)
      throw new Error(
        `kubectl ${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}\n--- server ---\n${server.output().slice(-4000)}`,
      );
    return result.stdout;
  }

  async function eventCount(): Promise<number> {
    const { Client } = await import('pg');
    const c = new Client({ connectionString: server.databaseUrl });
    await c.connect();
    const { rows } = await c.query('SELECT count(*)::int AS n FROM events');
    await c.end();
    return rows[0].n;
  }

  it('answers version, api-resources and the bootstrap namespaces', async () => {
    expect(await ok(['version', '-o', 'json'])).toContain('"minor": "32"');
    const resources = await ok(['api-resources']);
    expect(resources).toMatch(/deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    expect(resources).toMatch(/horizontalpodautoscalers\s+hpa\s+autoscaling\/v2/);
    const namespaces = await ok(['get', 'ns']);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
      expect(namespaces).toMatch(new RegExp(`${ns}\\s+Active`));
  });

  it('shows the apiserver behind the kubernetes Service, as Endpoints and as an EndpointSlice', async () => {
    const address = `127.0.0.1:${server.port}`;
    expect(await ok(['get', 'endpoints', 'kubernetes'])).toMatch(
      new RegExp(`kubernetes\\s+${address.replace(/\./g, '\\.')}\\s+`),
    );
    const endpoints = JSON.parse(await ok(['get', 'endpoints', 'kubernetes', '-o', 'json']));
    expect(endpoints.metadata.labels).toEqual({ 'endpointslice.kubernetes.io/skip-mirror': 'true' });
    expect(endpoints.subsets).toEqual([
      { addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: server.port, protocol: 'TCP' }] },
    ]);
    const slice = JSON.parse(await ok(['get', 'endpointslice', 'kubernetes', '-o', 'json']));
    expect(slice.metadata.labels).toEqual({ 'kubernetes.io/service-name': 'kubernetes' });
    expect(slice.addressType).toBe('IPv4');
    expect(slice.endpoints).toEqual([{ addresses: ['127.0.0.1'], conditions: { ready: true } }]);
    expect(slice.ports).toEqual([{ name: 'https', port: server.port, protocol: 'TCP' }]);
    expect(await ok(['describe', 'svc', 'kubernetes'])).toMatch(
      new RegExp(`Endpoints:\\s+${address.replace(/\./g, '\\.')}\\n`),
    );
  });

  it('applies seed 004, re-applies without events, and records exactly one event for a change', async () => {
    const created = await ok(['apply', '-f', SEED_004]);
    expect(created).toContain('pod/my-nginx-pod created');
    expect(created).toContain('deployment.apps/hostname-deployment created');
    expect(created).toContain('service/hostname-svc-nodeport created');
    const before = await eventCount();
    const again = await ok(['apply', '-f', SEED_004]);
    expect(again).toContain('deployment.apps/hostname-deployment unchanged');
    expect(await eventCount()).toBe(before);
    const changed = readFileSync(SEED_004, 'utf8').replace(
      'replicas: 3\n  selector:\n    matchLabels:\n      app: webserver',
      'replicas: 5\n  selector:\n    matchLabels:\n      app: webserver',
    );
    expect(await ok(['apply', '-f', '-'], changed)).toContain(
      'deployment.apps/hostname-deployment configured',
    );
    expect(await eventCount()).toBe(before + 1);
    const deploy = JSON.parse(await ok(['get', 'deploy', 'hostname-deployment', '-o', 'json']));
    expect(deploy.spec.replicas).toBe(5);
    expect(deploy.metadata.generation).toBe(2);
    expect(deploy.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    });
  });

  it('prints real columns, wide columns, YAML, selectors and field selectors', async () => {
    const svc = await ok(['get', 'svc']);
    expect(svc).toMatch(/NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE/);
    expect(svc).toMatch(/hostname-svc-nodeport\s+NodePort\s+10\.96\.\d+\.\d+\s+<none>\s+8080:3\d{4}\/TCP/);
    expect(svc).toMatch(/kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP/);
    expect(await ok(['get', 'deploy', '-o', 'wide'])).toMatch(
      /hostname-deployment\s+\d\/5\s+\d\s+\d\s+\S+\s+my-webserver\s+alicek106\/rr-test:echo-hostname\s+app=webserver/,
    );
    const yaml = await ok(['get', 'pod', 'my-nginx-pod', '-o', 'yaml']);
    expect(yaml).toContain('dnsPolicy: ClusterFirst');
    expect(yaml).toContain('imagePullPolicy: Always');
    expect(await ok(['get', 'rs', '-l', 'app!=nothing', '-o', 'name'])).toContain(
      'replicaset.apps/replicaset-nginx',
    );
    expect(await ok(['get', 'pods', '--field-selector', 'metadata.name=my-nginx-pod', '-o', 'name'])).toBe(
      'pod/my-nginx-pod\n',
    );
    expect(await ok(['get', 'pods', '--field-selector', 'metadata.name=nope'])).toBe('');
  });

  it('labels, annotates, scales, patches and describes', async () => {
    await ok(['label', 'pod', 'my-nginx-pod', 'env=prod']);
    await ok(['annotate', 'deploy', 'hostname-deployment', 'owner=sre']);
    await ok(['scale', 'deploy', 'hostname-deployment', '--replicas=2']);
    await ok([
      'patch',
      'deploy',
      'hostname-deployment',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"my-webserver","image":"nginx:1.27"}]}}}}',
    ]);
    const deploy = JSON.parse(await ok(['get', 'deploy', 'hostname-deployment', '-o', 'json']));
    expect(deploy.spec.replicas).toBe(2);
    expect(deploy.metadata.annotations.owner).toBe('sre');
    expect(deploy.spec.template.spec.containers[0].image).toBe('nginx:1.27');
    expect(deploy.spec.template.spec.containers[0].ports).toEqual([{ containerPort: 80, protocol: 'TCP' }]);
    expect(await ok(['get', 'pods', '-l', 'env=prod', '-o', 'name'])).toBe('pod/my-nginx-pod\n');
    expect(await ok(['describe', 'deploy', 'hostname-deployment'])).toMatch(/Replicas:\s+2 desired/);
  });

  it('streams later changes to kubectl get -w', async () => {
    const watcher = spawn(
      'kubectl',
      [
        '--kubeconfig',
        server.kubeconfig,
        '--cache-dir',
        join(server.dataDir, 'kubectl-cache'),
        'get',
        'cm',
        '-w',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    watcher.stdout.on('data', (d) => (out += d));
    try {
      // get -w lists first, then watches from the list's revision; the create below lands after both.
      await new Promise((r) => setTimeout(r, 2000));
      await ok(['create', 'configmap', 'watched', '--from-literal=a=b']);
      await waitFor(() => out.includes('watched'), 15_000);
      expect(out).toMatch(/watched\s+1\s+/);
    } finally {
      watcher.kill('SIGTERM');
    }
  });

  it('runs the protobuf commands', async () => {
    expect(await ok(['create', 'namespace', 'proto'])).toContain('namespace/proto created');
    expect(await ok(['create', 'configmap', 'cfg', '-n', 'proto', '--from-literal=k=v'])).toContain(
      'configmap/cfg created',
    );
    expect(
      await ok(['create', 'deployment', 'web', '-n', 'proto', '--image=nginx', '--replicas=2']),
    ).toContain('deployment.apps/web created');
    expect(
      await ok(['create', 'secret', 'generic', 'creds', '-n', 'proto', '--from-literal=password=hunter2']),
    ).toContain('secret/creds created');
    const web = JSON.parse(await ok(['get', 'deploy', 'web', '-n', 'proto', '-o', 'json']));
    expect(web.spec.replicas).toBe(2);
    expect(web.spec.template.spec.containers[0].image).toBe('nginx');
    const secret = JSON.parse(await ok(['get', 'secret', 'creds', '-n', 'proto', '-o', 'json']));
    expect(Buffer.from(secret.data.password, 'base64').toString()).toBe('hunter2');
    expect((await ok(['auth', 'can-i', 'get', 'pods'])).trim()).toBe('yes');
    expect(await ok(['auth', 'whoami'])).toMatch(/admin/);
  });

  it('applies server-side, explains, and deletes by name, label and file', async () => {
    const ssa = await ok(
      ['apply', '--server-side', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  labels:\n    team: a\ndata:\n  x: "1"\n',
    );
    expect(ssa).toContain('configmap/ssa serverside-applied');
    const managed = JSON.parse(await ok(['get', 'cm', 'ssa', '-o', 'json', '--show-managed-fields']));
    expect(managed.metadata.managedFields[0]).toMatchObject({ manager: 'kubectl', operation: 'Apply' });
    expect(await ok(['explain', 'deployment.spec.strategy'])).toMatch(/rollingUpdate/);
    expect(await ok(['delete', 'cm', 'ssa'])).toContain('configmap "ssa" deleted');
    expect(await ok(['delete', 'pods', '-l', 'env=prod'])).toContain('pod "my-nginx-pod" deleted');
    expect(await ok(['delete', '-f', SEED_004, '--ignore-not-found'])).toContain(
      'deployment.apps "hostname-deployment" deleted',
    );
    expect(await ok(['get', 'deploy'])).toBe('');
  });

  it('re-creates a backup written by kubectl get -o yaml (a List) and validates its items', async () => {
    const list = (names: string[], extra = '') =>
      'apiVersion: v1\nkind: List\nitems:\n' +
      names
        .map(
          (n) =>
            `- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: ${n}\n  data:\n    x: "1"\n${extra}`,
        )
        .join('');
    expect(await ok(['create', '-f', '-'], list(['list-a', 'list-b']))).toMatch(
      /configmap\/list-a created\s+configmap\/list-b created/,
    );
    expect(await ok(['replace', '-f', '-'], list(['list-a', 'list-b']))).toContain(
      'configmap/list-b replaced',
    );
    const backup = await ok(['get', 'cm', 'list-a', 'list-b', '-o', 'yaml']);
    expect(backup).toContain('kind: List');
    await ok(['delete', 'cm', 'list-a', 'list-b']);
    expect(await ok(['apply', '-f', '-'], backup)).toContain('configmap/list-b created');
    // kubectl validates each item against /openapi/v2 itself, before any request is sent.
    const before = await eventCount();
    const bogus = await server.kubectl(['create', '-f', '-'], list(['list-c'], '  bogus: 1\n'));
    expect(bogus.stderr).toContain('unknown field "bogus" in io.k8s.api.core.v1.ConfigMap');
    expect(await eventCount()).toBe(before);
    await ok(['delete', 'cm', 'list-a', 'list-b']);
  });

  it('applies changes that need strategic merge directives (retainKeys, list deletions)', async () => {
    const deployment = (strategy: string, env: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: directives\nspec:\n  strategy: ${strategy}\n` +
      `  selector:\n    matchLabels:\n      app: d\n  template:\n    metadata:\n      labels:\n        app: d\n` +
      `    spec:\n      containers:\n      - name: c\n        image: nginx\n        env: ${env}\n`;
    const rolling = '{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}';
    const twoVars = '[{name: A, value: "1"}, {name: B, value: "2"}]';
    await ok(['apply', '-f', '-'], deployment(rolling, twoVars));
    expect(
      await ok(['apply', '-f', '-'], deployment('{type: Recreate}', '[{name: A, value: "1"}]')),
    ).toContain('deployment.apps/directives configured');
    const recreated = JSON.parse(await ok(['get', 'deploy', 'directives', '-o', 'json']));
    expect(recreated.spec.strategy).toEqual({ type: 'Recreate' });
    expect(recreated.spec.template.spec.containers[0].env).toEqual([{ name: 'A', value: '1' }]);
    await ok(['apply', '-f', '-'], deployment(rolling, twoVars));
    const back = JSON.parse(await ok(['get', 'deploy', 'directives', '-o', 'json']));
    expect(back.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    expect(back.spec.template.spec.containers[0].env).toHaveLength(2);
    await ok(['delete', 'deploy', 'directives']);
  });

  it('reports kubectl-visible errors as Kubernetes Status', async () => {
    const missing = await server.kubectl(['get', 'deploy', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "nope" not found');
    const dup = await server.kubectl(['create', 'namespace', 'proto']);
    expect(dup.stderr).toContain('Error from server (AlreadyExists): namespaces "proto" already exists');
    const unknown = await server.kubectl(['get', 'foos']);
    expect(unknown.stderr).toContain(`the server doesn't have a resource type "foos"`);
    const invalid = await server.kubectl(
      ['apply', '-f', '-'],
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  replicas: -1\n  selector:\n    matchLabels:\n      app: a\n  template:\n    metadata:\n      labels:\n        app: b\n    spec:\n      containers:\n      - name: c\n        image: nginx\n',
    );
    expect(invalid.stderr).toMatch(/The Deployment "bad" is invalid/);
    expect(invalid.stderr).toContain('spec.replicas');
    const strict = await server.kubectl(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\nbogusField: 1\n',
    );
    expect(strict.stderr).toContain('unknown field "bogusField"');
    const noNs = await server.kubectl(['create', 'configmap', 'x', '-n', 'does-not-exist']);
    expect(noNs.stderr).toContain('namespaces "does-not-exist" not found');
  });
});

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
