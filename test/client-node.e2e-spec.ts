import * as k8s from '@kubernetes/client-node';
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';

describe('@kubernetes/client-node against kubetime', () => {
  let server: TestServer & { database: TestDatabase };
  let kc: k8s.KubeConfig;

  beforeAll(async () => {
    server = await startServer();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(server.kubeconfig);
  });
  afterAll(async () => {
    if (server) await stopServer(server);
  });

  it('lists, creates and patches', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const namespaces = await core.listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(['default', 'kube-system']));
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'client' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'client' } }, template: { metadata: { labels: { app: 'client' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
      },
    });
    const patched = await apps.patchNamespacedDeployment({ name: 'client', namespace: 'default', body: [{ op: 'replace', path: '/spec/replicas', value: 3 }] });
    expect(patched.spec?.replicas).toBe(3);
    const error = await core.readNamespacedConfigMap({ name: 'missing', namespace: 'default' }).catch((e) => e);
    expect(error.code).toBe(404);
  });

  it('keeps an informer in sync through list and watch', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
    const added: string[] = [];
    informer.on('add', (cm: k8s.V1ConfigMap) => added.push(cm.metadata!.name!));
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before' } } });
    await informer.start();
    try {
      for (let i = 0; i < 5; i++) await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `live-${i}` } } });
      await core.deleteNamespacedConfigMap({ name: 'before', namespace: 'default' });
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && (informer.list().length !== 5 || added.length < 6)) await new Promise((r) => setTimeout(r, 100));
      expect(added).toEqual(expect.arrayContaining(['before', 'live-0', 'live-4']));
      expect(informer.list().map((c) => c.metadata!.name).sort()).toEqual(['live-0', 'live-1', 'live-2', 'live-3', 'live-4']);
    } finally {
      await informer.stop();
    }
  });
});
