// @kubernetes/client-node 1.x is ESM-only, so the scenario runs in plain Node (as users run it) and
// reports what it saw as one JSON line; client-node.e2e-spec.ts asserts on that report.
import * as k8s from '@kubernetes/client-node';

const kc = new k8s.KubeConfig();
kc.loadFromFile(process.argv[2]);
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const report = {};

const namespaces = await core.listNamespace();
report.namespaces = namespaces.items.map((n) => n.metadata?.name);
await apps.createNamespacedDeployment({
  namespace: 'default',
  body: {
    metadata: { name: 'client' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'client' } },
      template: {
        metadata: { labels: { app: 'client' } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
    },
  },
});
const patched = await apps.patchNamespacedDeployment({
  name: 'client',
  namespace: 'default',
  body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
});
report.patchedReplicas = patched.spec?.replicas;
report.missingCode = (
  await core.readNamespacedConfigMap({ name: 'missing', namespace: 'default' }).catch((e) => e)
).code;

const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
  core.listNamespacedConfigMap({ namespace: 'default' }),
);
const added = [];
informer.on('add', (cm) => added.push(cm.metadata.name));
await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before' } } });
await informer.start();
for (let i = 0; i < 5; i++)
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `live-${i}` } } });
await core.deleteNamespacedConfigMap({ name: 'before', namespace: 'default' });
const deadline = Date.now() + 15_000;
while (Date.now() < deadline && (informer.list().length !== 5 || added.length < 6))
  await new Promise((r) => setTimeout(r, 100));
report.added = added;
report.cached = informer
  .list()
  .map((c) => c.metadata.name)
  .sort();
await informer.stop();
process.stdout.write(JSON.stringify(report) + '\n');
process.exit(0);
