/**
 * Defaults for every PodSpec, whether it belongs to a Pod or sits in a workload's template.
 * Pods additionally get what kube-apiserver's ServiceAccount and Priority admission plugins and the
 * pod strategy add, because users compare `kubectl get pod -o yaml` against a real cluster and those
 * fields are always there. DefaultTolerationSeconds is not a default: it runs on writes of pods
 * proper only (default-toleration-seconds.ts).
 */
import { parseQuantity } from './quantity';

type Json = Record<string, any>;

function setIfAbsent(target: Json, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === null) target[key] = value;
}

/** Images without a tag, or tagged latest, are re-pulled; pinned tags and digests are not. */
export function defaultPullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  const [reference, digest] = image.split('@');
  const lastSegment = reference.slice(reference.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  const tag = colon >= 0 ? lastSegment.slice(colon + 1) : digest ? '' : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultHandler(handler: Json | undefined): void {
  if (!handler) return;
  if (handler.httpGet) {
    setIfAbsent(handler.httpGet, 'path', '/');
    setIfAbsent(handler.httpGet, 'scheme', 'HTTP');
  }
  if (handler.grpc) setIfAbsent(handler.grpc, 'service', '');
}

function defaultProbe(probe: Json | undefined): void {
  if (!probe) return;
  setIfAbsent(probe, 'timeoutSeconds', 1);
  setIfAbsent(probe, 'periodSeconds', 10);
  setIfAbsent(probe, 'successThreshold', 1);
  setIfAbsent(probe, 'failureThreshold', 3);
  defaultHandler(probe);
}

function defaultContainer(container: Json, hostNetwork: boolean): void {
  setIfAbsent(container, 'terminationMessagePath', '/dev/termination-log');
  setIfAbsent(container, 'terminationMessagePolicy', 'File');
  setIfAbsent(container, 'imagePullPolicy', defaultPullPolicy(container.image));
  setIfAbsent(container, 'resources', {});
  for (const port of container.ports ?? []) {
    setIfAbsent(port, 'protocol', 'TCP');
    // With the host's network namespace the container port is the host port.
    if (hostNetwork) setIfAbsent(port, 'hostPort', port.containerPort);
  }
  defaultProbe(container.livenessProbe);
  defaultProbe(container.readinessProbe);
  defaultProbe(container.startupProbe);
  defaultHandler(container.lifecycle?.postStart);
  defaultHandler(container.lifecycle?.preStop);
  for (const env of container.env ?? []) {
    if (env.valueFrom?.fieldRef) setIfAbsent(env.valueFrom.fieldRef, 'apiVersion', 'v1');
  }
}

const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];

/** 0644, the file mode projected keys get unless the user asks otherwise. */
const DEFAULT_FILE_MODE = 420;

function defaultVolume(volume: Json): void {
  if (!VOLUME_SOURCES.some((source) => volume[source] !== undefined)) volume.emptyDir = {};
  for (const source of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    if (volume[source]) setIfAbsent(volume[source], 'defaultMode', DEFAULT_FILE_MODE);
  }
  if (volume.hostPath) setIfAbsent(volume.hostPath, 'type', '');
  for (const item of volume.downwardAPI?.items ?? []) {
    if (item.fieldRef) setIfAbsent(item.fieldRef, 'apiVersion', 'v1');
  }
  for (const projection of volume.projected?.sources ?? []) {
    for (const item of projection.downwardAPI?.items ?? []) {
      if (item.fieldRef) setIfAbsent(item.fieldRef, 'apiVersion', 'v1');
    }
    if (projection.serviceAccountToken)
      setIfAbsent(projection.serviceAccountToken, 'expirationSeconds', 3600);
  }
}

export function defaultPodSpec(spec: Json): void {
  setIfAbsent(spec, 'dnsPolicy', 'ClusterFirst');
  setIfAbsent(spec, 'restartPolicy', 'Always');
  setIfAbsent(spec, 'terminationGracePeriodSeconds', 30);
  setIfAbsent(spec, 'schedulerName', 'default-scheduler');
  setIfAbsent(spec, 'securityContext', {});
  // v1 keeps the deprecated serviceAccount field as a mirror of serviceAccountName.
  if (spec.serviceAccountName === undefined && spec.serviceAccount)
    spec.serviceAccountName = spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  const hostNetwork = spec.hostNetwork === true;
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const container of spec[list] ?? []) defaultContainer(container, hostNetwork);
  }
  for (const volume of spec.volumes ?? []) defaultVolume(volume);
}

/** A pod template as stored by the workload controllers' kinds. */
export function defaultPodTemplate(template: Json | undefined): void {
  if (!template) return;
  template.metadata ??= {};
  // Go serializes the zero timestamp of an embedded ObjectMeta as null; clients see it.
  if (!('creationTimestamp' in template.metadata)) template.metadata.creationTimestamp = null;
  template.spec ??= {};
  defaultPodSpec(template.spec);
}

function qosClass(spec: Json): string {
  const containers: Json[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const isSet = (resources: Json | undefined, name: string) => resources?.[name] !== undefined;
  const anySet = containers.some((c) =>
    ['cpu', 'memory'].some((r) => isSet(c.resources?.requests, r) || isSet(c.resources?.limits, r)),
  );
  if (!anySet) return 'BestEffort';
  const guaranteed = containers.every((c) =>
    ['cpu', 'memory'].every(
      (r) =>
        isSet(c.resources?.limits, r) &&
        parseQuantity(c.resources.requests?.[r] ?? c.resources.limits[r]) ===
          parseQuantity(c.resources.limits[r]),
    ),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function defaultPod(pod: Json): void {
  pod.spec ??= {};
  const spec = pod.spec;
  setIfAbsent(spec, 'enableServiceLinks', true);
  // Requests left out where limits are given mean "the same as the limit".
  for (const list of ['initContainers', 'containers']) {
    for (const container of spec[list] ?? []) {
      const limits = container.resources?.limits;
      if (!limits) continue;
      container.resources.requests ??= {};
      for (const [name, quantity] of Object.entries(limits))
        setIfAbsent(container.resources.requests, name, quantity);
    }
  }
  defaultPodSpec(spec);
  // ServiceAccount admission.
  if (!spec.serviceAccountName) {
    spec.serviceAccountName = 'default';
    spec.serviceAccount = 'default';
  }
  // Priority admission: no priorityClassName means the global default of 0.
  setIfAbsent(spec, 'priority', 0);
  setIfAbsent(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  pod.status ??= {};
  setIfAbsent(pod.status, 'phase', 'Pending');
  setIfAbsent(pod.status, 'qosClass', qosClass(spec));
}
