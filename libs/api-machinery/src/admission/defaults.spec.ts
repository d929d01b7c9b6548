import { parse } from 'yaml';
import { findResourceTypeByKind } from '../registry';
import { KubeObject } from '../object';
import { applyDefaults } from './defaults';
import { defaultPullPolicy } from './pod-defaults';

function defaulted(manifest: string): any {
  const obj = parse(manifest) as KubeObject;
  const type = findResourceTypeByKind(obj.apiVersion!, obj.kind!)!;
  return applyDefaults(type, obj);
}

/** The container block a real cluster shows for the seed's nginx:latest containers. */
const nginxLatest = (name: string) => ({
  name,
  image: 'nginx:latest',
  imagePullPolicy: 'Always',
  ports: [{ containerPort: 80, protocol: 'TCP' }],
  resources: {},
  terminationMessagePath: '/dev/termination-log',
  terminationMessagePolicy: 'File',
});

const templateSpecDefaults = {
  dnsPolicy: 'ClusterFirst',
  restartPolicy: 'Always',
  schedulerName: 'default-scheduler',
  securityContext: {},
  terminationGracePeriodSeconds: 30,
};

describe('applyDefaults on the seed 004 manifests', () => {
  it('defaults the nginx Pod like kubectl get pod -o yaml shows', () => {
    const pod = defaulted(`
apiVersion: v1
kind: Pod
metadata:
  name: my-nginx-pod
spec:
  containers:
  - name: my-nginx-container
    image: nginx:latest
    ports:
    - containerPort: 80
      protocol: TCP
`);
    expect(pod.spec).toEqual({
      containers: [nginxLatest('my-nginx-container')],
      ...templateSpecDefaults,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      serviceAccount: 'default',
      serviceAccountName: 'default',
    });
    expect(pod.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('defaults the ReplicaSet and its template', () => {
    const rs = defaulted(`
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: replicaset-nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: my-nginx-pods-label
  template:
    metadata:
      name: my-nginx-pod
      labels:
        app: my-nginx-pods-label
    spec:
      containers:
      - name: nginx
        image: nginx:latest
        ports:
        - containerPort: 80
`);
    expect(rs.spec).toEqual({
      replicas: 3,
      selector: { matchLabels: { app: 'my-nginx-pods-label' } },
      template: {
        metadata: { name: 'my-nginx-pod', labels: { app: 'my-nginx-pods-label' }, creationTimestamp: null },
        spec: { containers: [nginxLatest('nginx')], ...templateSpecDefaults },
      },
    });
  });

  it('defaults the Deployment with rolling update strategy and history limits', () => {
    const deployment = defaulted(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hostname-deployment
spec:
  replicas: 3
  selector:
    matchLabels:
      app: webserver
  template:
    metadata:
      name: my-webserver
      labels:
        app: webserver
    spec:
      containers:
      - name: my-webserver
        image: alicek106/rr-test:echo-hostname
        ports:
        - containerPort: 80
`);
    expect(deployment.spec).toEqual({
      progressDeadlineSeconds: 600,
      replicas: 3,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'webserver' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { name: 'my-webserver', labels: { app: 'webserver' }, creationTimestamp: null },
        spec: {
          containers: [
            {
              name: 'my-webserver',
              image: 'alicek106/rr-test:echo-hostname',
              imagePullPolicy: 'IfNotPresent',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              resources: {},
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
            },
          ],
          ...templateSpecDefaults,
        },
      },
    });
  });

  it('defaults the ClusterIP Service (allocation of clusterIP is left to the apiserver)', () => {
    const svc = defaulted(`
apiVersion: v1
kind: Service
metadata:
  name: hostname-svc-clusterip
spec:
  ports:
  - name: web-port
    port: 8080
    targetPort: 80
  selector:
    app: webserver
  type: ClusterIP
`);
    expect(svc.spec).toEqual({
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ name: 'web-port', port: 8080, protocol: 'TCP', targetPort: 80 }],
      selector: { app: 'webserver' },
      sessionAffinity: 'None',
      type: 'ClusterIP',
    });
  });

  it('gives NodePort services externalTrafficPolicy Cluster', () => {
    const svc = defaulted(`
apiVersion: v1
kind: Service
metadata:
  name: hostname-svc-nodeport
spec:
  ports:
  - name: web-port
    port: 8080
    targetPort: 80
  selector:
    app: webserver
  type: NodePort
`);
    expect(svc.spec.externalTrafficPolicy).toBe('Cluster');
    expect(svc.spec.internalTrafficPolicy).toBe('Cluster');
  });

  it('leaves ExternalName services without IP families or traffic policies', () => {
    const svc = defaulted(`
apiVersion: v1
kind: Service
metadata:
  name: externalname-svc
spec:
  type: ExternalName
  externalName: my.database.com
`);
    expect(svc.spec).toEqual({
      type: 'ExternalName',
      externalName: 'my.database.com',
      sessionAffinity: 'None',
    });
  });

  it('fills targetPort from port and sessionAffinityConfig for ClientIP', () => {
    const svc = defaulted(`
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  sessionAffinity: ClientIP
  ports: [{port: 80}]
`);
    expect(svc.spec.ports).toEqual([{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    expect(svc.spec.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } });
  });
});

describe('applyDefaults on other kinds', () => {
  it('never mutates its input and is idempotent', () => {
    const input: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: {},
    };
    const snapshot = structuredClone(input);
    const type = findResourceTypeByKind('apps/v1', 'Deployment')!;
    const once = applyDefaults(type, input);
    expect(input).toEqual(snapshot);
    expect(applyDefaults(type, once)).toEqual(once);
  });

  it('defaults a StatefulSet including its claim templates', () => {
    const sts = defaulted(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: stateful-pvc}
spec:
  selector: {matchLabels: {type: db2}}
  serviceName: stateful-headless
  template:
    metadata: {labels: {type: db2}}
    spec:
      containers: [{name: container, image: kubetm/app}]
      terminationGracePeriodSeconds: 10
  volumeClaimTemplates:
  - metadata: {name: volume}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1G}}
`);
    expect(sts.spec).toMatchObject({
      replicas: 1,
      podManagementPolicy: 'OrderedReady',
      revisionHistoryLimit: 10,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    });
    expect(sts.spec.template.spec.terminationGracePeriodSeconds).toBe(10);
    expect(sts.spec.volumeClaimTemplates[0]).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'volume', creationTimestamp: null },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1G' } },
        volumeMode: 'Filesystem',
      },
      status: { phase: 'Pending' },
    });
  });

  it('defaults a DaemonSet update strategy', () => {
    const ds = defaulted(`
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: a, image: busybox:1.36}]}}
`);
    expect(ds.spec.updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    expect(ds.spec.revisionHistoryLimit).toBe(10);
  });

  it('generates the Job selector and pod labels from the uid', () => {
    const job = defaulted(`
apiVersion: batch/v1
kind: Job
metadata: {name: pi, uid: 0b6b8c1e-6a0b-4f0e-9a43-5d0f3c1d2e11}
spec:
  template:
    spec:
      containers: [{name: pi, image: perl:5.34.0}]
      restartPolicy: Never
`);
    const uid = '0b6b8c1e-6a0b-4f0e-9a43-5d0f3c1d2e11';
    const generated = {
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': 'pi',
      'controller-uid': uid,
      'job-name': 'pi',
    };
    expect(job.metadata.labels).toEqual(generated);
    expect(job.spec).toMatchObject({
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      completions: 1,
      manualSelector: false,
      parallelism: 1,
      podReplacementPolicy: 'TerminatingOrFailed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
      suspend: false,
    });
    expect(job.spec.template.metadata.labels).toEqual(generated);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
  });

  it('leaves a manual Job selector alone and only defaults parallelism when completions is set', () => {
    const job = defaulted(`
apiVersion: batch/v1
kind: Job
metadata: {name: manual, uid: u1}
spec:
  manualSelector: true
  completions: 5
  selector: {matchLabels: {app: manual}}
  template: {metadata: {labels: {app: manual}}, spec: {containers: [{name: a, image: a:1}], restartPolicy: OnFailure}}
`);
    expect(job.spec.selector).toEqual({ matchLabels: { app: 'manual' } });
    expect(job.spec.completions).toBe(5);
    expect(job.spec.parallelism).toBe(1);
    expect(job.metadata.labels).toEqual({ app: 'manual' });
  });

  it('does not generate a Job selector before the uid is known', () => {
    const job = defaulted(`
apiVersion: batch/v1
kind: Job
metadata: {name: early}
spec: {template: {spec: {containers: [{name: a, image: a:1}], restartPolicy: Never}}}
`);
    expect(job.spec.selector).toBeUndefined();
  });

  it('defaults a CronJob but not the Job fields of its template', () => {
    const cj = defaulted(`
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: hello, image: busybox:1.28}]
          restartPolicy: OnFailure
`);
    expect(cj.spec).toMatchObject({
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    });
    expect(cj.spec.jobTemplate.metadata).toEqual({ creationTimestamp: null });
    expect(cj.spec.jobTemplate.spec.backoffLimit).toBeUndefined();
    expect(cj.spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
  });

  it('defaults a Namespace', () => {
    const ns = defaulted('apiVersion: v1\nkind: Namespace\nmetadata: {name: nm-01}\n');
    expect(ns.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'nm-01' });
    expect(ns.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(ns.status).toEqual({ phase: 'Active' });
  });

  it('folds Secret stringData into base64 data, where it wins', () => {
    const secret = defaulted(`
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {user: b2xk, keep: a2VlcA==}
stringData: {user: admin}
`);
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      type: 'Opaque',
      data: { user: Buffer.from('admin').toString('base64'), keep: 'a2VlcA==' },
    });
  });

  it('defaults PVs, PVCs and HPAs', () => {
    const pv = defaulted(
      'apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv}\nspec: {capacity: {storage: 1Gi}}\n',
    );
    expect(pv.spec.persistentVolumeReclaimPolicy).toBe('Retain');
    expect(pv.spec.volumeMode).toBe('Filesystem');
    const pvc = defaulted('apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {}\n');
    expect(pvc.spec.volumeMode).toBe('Filesystem');
    const hpa = defaulted(
      'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec: {maxReplicas: 5}\n',
    );
    expect(hpa.spec.minReplicas).toBe(1);
    expect(hpa.spec.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
      },
    ]);
  });

  it('copies limits into missing requests of pods and classifies QoS', () => {
    const pod = defaulted(`
apiVersion: v1
kind: Pod
metadata: {name: g}
spec:
  containers:
  - name: a
    image: a:1
    resources: {limits: {cpu: 500m, memory: 128Mi}}
    livenessProbe: {httpGet: {port: 80}}
`);
    expect(pod.spec.containers[0].resources.requests).toEqual({ cpu: '500m', memory: '128Mi' });
    expect(pod.status.qosClass).toBe('Guaranteed');
    expect(pod.spec.containers[0].livenessProbe).toEqual({
      httpGet: { port: 80, path: '/', scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });
});

describe('defaultPullPolicy', () => {
  it.each([
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.25', 'IfNotPresent'],
    ['registry:5000/team/app', 'Always'],
    ['registry:5000/team/app:v2', 'IfNotPresent'],
    ['nginx@sha256:abcd', 'IfNotPresent'],
  ])('%s -> %s', (image, policy) => {
    expect(defaultPullPolicy(image)).toBe(policy);
  });
});
