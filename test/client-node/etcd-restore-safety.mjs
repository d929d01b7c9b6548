// Restore-safety as an informer sees it (etcd-cli.e2e-spec.ts runs this in plain Node, as users run
// client-node, and asserts on the JSON line it prints). An informer that synced against the live
// cluster (main) is pointed at a branch restored from an etcd snapshot with bumped, compacted revisions,
// still holding main's resourceVersion. The bump must make that resourceVersion too old (410), so the
// informer re-lists instead of silently resuming from a number that means something else there.
//
// Usage: node etcd-restore-safety.mjs KUBECONFIG BRANCH
import * as k8s from '@kubernetes/client-node';

const [kubeconfigPath, branch] = process.argv.slice(2);
const onMain = new k8s.KubeConfig();
onMain.loadFromFile(kubeconfigPath);
const onBranch = new k8s.KubeConfig();
onBranch.loadFromOptions({
  clusters: onMain.clusters.map((c) => ({
    ...c,
    server: `${c.server.replace(/\/$/, '')}/branches/${branch}`,
  })),
  users: onMain.users,
  contexts: onMain.contexts,
  currentContext: onMain.currentContext,
});
const mainApi = onMain.makeApiClient(k8s.CoreV1Api);
const branchApi = onBranch.makeApiClient(k8s.CoreV1Api);
const report = {};

// What the informer held before the switch: main's list and its resourceVersion.
const stale = await mainApi.listConfigMapForAllNamespaces();
report.staleResourceVersion = Number(stale.metadata.resourceVersion);

// A bare watch from that resourceVersion on the branch: the answer the informer will get.
report.staleWatch = await new Promise((resolve) => {
  const seen = [];
  const timer = setTimeout(() => resolve({ seen, timedOut: true }), 10_000);
  new k8s.Watch(onBranch)
    .watch(
      '/api/v1/configmaps',
      { resourceVersion: String(report.staleResourceVersion) },
      (phase, obj) => seen.push({ phase, code: obj?.code ?? null, reason: obj?.reason ?? null }),
      (err) => {
        clearTimeout(timer);
        resolve({ seen, doneStatus: err?.statusCode ?? err?.code ?? null });
      },
    )
    .catch((err) => {
      clearTimeout(timer);
      resolve({ seen, doneStatus: err?.statusCode ?? err?.code ?? null });
    });
});

// The informer's first list is the stale one; every later list (a re-list) reads the branch.
const lists = [];
const listFn = async () => {
  const list = lists.length === 0 ? stale : await branchApi.listConfigMapForAllNamespaces();
  lists.push(Number(list.metadata.resourceVersion));
  return list;
};
const informer = k8s.makeInformer(onBranch, '/api/v1/configmaps', listFn);
const deleted = [];
const added = [];
informer.on('delete', (cm) => deleted.push(`${cm.metadata.namespace}/${cm.metadata.name}`));
informer.on('add', (cm) => added.push(`${cm.metadata.namespace}/${cm.metadata.name}`));
informer.on('error', (err) => (report.informerError = String(err?.message ?? err)));
await informer.start();

const names = (items) => items.map((c) => `${c.metadata.namespace}/${c.metadata.name}`).sort();
const wait = async (done) => {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !done()) await new Promise((r) => setTimeout(r, 100));
};
const branchNames = names((await branchApi.listConfigMapForAllNamespaces()).items);
await wait(() => lists.length >= 2 && JSON.stringify(names(informer.list())) === JSON.stringify(branchNames));
report.lists = lists;
report.branchNames = branchNames;
report.cachedAfterRelist = names(informer.list());
report.deletedByRelist = [...deleted].sort();

// And the informer is live on the branch afterwards.
await branchApi.createNamespacedConfigMap({
  namespace: 'default',
  body: { metadata: { name: 'after-restore' } },
});
await wait(() => added.includes('default/after-restore'));
report.liveAdd = added.includes('default/after-restore');
await informer.stop();
process.stdout.write(JSON.stringify(report) + '\n');
process.exit(0);
