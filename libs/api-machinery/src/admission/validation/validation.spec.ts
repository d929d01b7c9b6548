import { parse } from 'yaml';
import { findResourceTypeByKind } from '../../registry';
import { KubeObject } from '../../object';
import { applyDefaults } from '../defaults';
import { invalid, validateObject } from './index';

function load(manifest: string): {
  type: ReturnType<typeof findResourceTypeByKind> & object;
  obj: KubeObject;
} {
  const raw = parse(manifest) as KubeObject;
  const type = findResourceTypeByKind(raw.apiVersion!, raw.kind!)!;
  if (type.namespaced) raw.metadata.namespace ??= 'default';
  return { type, obj: applyDefaults(type, raw) };
}

function errors(manifest: string, mutate?: (obj: any) => void): string[] {
  const { type, obj } = load(manifest);
  mutate?.(obj);
  return validateObject(type, obj).map((c) => `${c.field}: ${c.message}`);
}

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80, name: http}]
`;

const LABEL_REGEX_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

describe('validateObject', () => {
  it('accepts the seed manifests once defaulted', () => {
    expect(errors(deployment)).toEqual([]);
    expect(
      errors(`
apiVersion: v1
kind: Service
metadata: {name: hostname-svc-nodeport}
spec:
  ports: [{name: web-port, port: 8080, targetPort: 80}]
  selector: {app: webserver}
  type: NodePort
`),
    ).toEqual([]);
    expect(
      errors(
        'apiVersion: v1\nkind: Service\nmetadata: {name: externalname-svc}\nspec: {type: ExternalName, externalName: my.database.com}\n',
      ),
    ).toEqual([]);
  });

  it.each<[string, (obj: any) => void, string[]]>([
    [
      'negative replicas and a template that the selector does not match',
      (d) => {
        d.spec.replicas = -1;
        d.spec.template.metadata.labels = { app: 'other' };
      },
      [
        'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
      ],
    ],
    ['a missing selector', (d) => delete d.spec.selector, ['spec.selector: Required value']],
    [
      'an empty selector',
      (d) => (d.spec.selector = {}),
      [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
      ],
    ],
    [
      'no containers',
      (d) => (d.spec.template.spec.containers = []),
      ['spec.template.spec.containers: Required value'],
    ],
    [
      'a container without name and image',
      (d) =>
        (d.spec.template.spec.containers[0] = {
          imagePullPolicy: 'Always',
          terminationMessagePolicy: 'File',
        }),
      [
        'spec.template.spec.containers[0].name: Required value',
        'spec.template.spec.containers[0].image: Required value',
      ],
    ],
    [
      'a badly named container',
      (d) => (d.spec.template.spec.containers[0].name = 'Nginx_1'),
      [`spec.template.spec.containers[0].name: Invalid value: "Nginx_1": ${LABEL_REGEX_MESSAGE}`],
    ],
    [
      'duplicate container names and port names',
      (d) => {
        const c = d.spec.template.spec.containers[0];
        c.ports.push({ containerPort: 81, name: 'http', protocol: 'TCP' });
        d.spec.template.spec.containers.push({ ...c, ports: [] });
      },
      [
        'spec.template.spec.containers[0].ports[1].name: Duplicate value: "http"',
        'spec.template.spec.containers[1].name: Duplicate value: "nginx"',
      ],
    ],
    [
      'an unknown pull policy',
      (d) => (d.spec.template.spec.containers[0].imagePullPolicy = 'Foo'),
      [
        'spec.template.spec.containers[0].imagePullPolicy: Unsupported value: "Foo": supported values: "Always", "IfNotPresent", "Never"',
      ],
    ],
    [
      'restartPolicy OnFailure',
      (d) => (d.spec.template.spec.restartPolicy = 'OnFailure'),
      ['spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'],
    ],
    [
      'an out-of-range container port',
      (d) => (d.spec.template.spec.containers[0].ports[0].containerPort = 70000),
      [
        'spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      ],
    ],
    [
      'unparseable and inconsistent resource quantities',
      (d) =>
        (d.spec.template.spec.containers[0].resources = {
          limits: { cpu: '1', memory: 'lots' },
          requests: { cpu: '2' },
        }),
      [
        `spec.template.spec.containers[0].resources.limits[memory]: Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
        'spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1',
      ],
    ],
    [
      'a volume mount without a volume',
      (d) => (d.spec.template.spec.containers[0].volumeMounts = [{ name: 'data', mountPath: '/data' }]),
      ['spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"'],
    ],
    [
      'a bad rolling update',
      (d) => (d.spec.strategy.rollingUpdate = { maxUnavailable: 0, maxSurge: 0 }),
      ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0'],
    ],
    [
      'a bad name, label and annotation',
      (d) => {
        d.metadata.name = 'Web';
        d.metadata.labels = { 'app/x/y': 'ok', tier: 'front end' };
        d.metadata.annotations = { big: 'x'.repeat(256 * 1024) };
      },
      [
        `metadata.name: Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        `metadata.labels: Invalid value: "app/x/y": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
        `metadata.labels: Invalid value: "front end": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
        'metadata.annotations: Too long: must have at most 262144 bytes',
      ],
    ],
  ])('rejects a Deployment with %s', (_, mutate, expected) => {
    expect(errors(deployment, mutate)).toEqual(expected);
  });

  it('reports reasons clients switch on', () => {
    const { type, obj } = load(deployment);
    obj.spec.replicas = -1;
    delete obj.spec.template.spec.containers[0].image;
    obj.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
    expect(validateObject(type, obj).map((c) => c.reason)).toEqual([
      'FieldValueInvalid',
      'FieldValueRequired',
      'FieldValueNotSupported',
    ]);
  });

  it('builds the 422 kubectl prints', () => {
    const { type, obj } = load(deployment);
    obj.spec.replicas = -1;
    const status = invalid(type, obj, validateObject(type, obj)).toStatus();
    expect(status.code).toBe(422);
    expect(status.message).toBe(
      'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    );
    expect(status.details).toMatchObject({ name: 'web', group: 'apps', kind: 'Deployment' });
  });

  it('requires Job templates to restart OnFailure or Never', () => {
    const job = `
apiVersion: batch/v1
kind: Job
metadata: {name: pi, uid: 11111111-2222-3333-4444-555555555555}
spec:
  template:
    spec:
      containers: [{name: pi, image: perl:5.34.0}]
`;
    expect(errors(job)).toEqual([
      'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
    ]);
    expect(errors(job, (j) => (j.spec.template.spec.restartPolicy = 'Never'))).toEqual([]);
    expect(
      errors(job, (j) => {
        j.spec.template.spec.restartPolicy = 'Never';
        j.spec.backoffLimit = -1;
        j.spec.selector = { matchLabels: { a: 'b' } };
        j.spec.template.metadata.labels.a = 'b';
      }),
    ).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"a":"b"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not auto-generated',
      'spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0',
    ]);
  });

  it('validates CronJob schedules and names', () => {
    const cronJob = `
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "*/1 * * * *"
  jobTemplate: {spec: {template: {spec: {containers: [{name: hello, image: busybox:1.28}], restartPolicy: OnFailure}}}}
`;
    expect(errors(cronJob)).toEqual([]);
    expect(
      errors(cronJob, (c) => {
        c.spec.schedule = '* * *';
        c.spec.concurrencyPolicy = 'Sometimes';
      }),
    ).toEqual([
      'spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: * * *',
      'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
    ]);
  });

  it.each<[string, string, string[]]>([
    [
      'a Service named like a subdomain',
      'apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec: {ports: [{port: 80}]}\n',
      [
        `metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
      ],
    ],
    [
      'a Service without ports',
      'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}}\n',
      ['spec.ports: Required value'],
    ],
    [
      'unnamed, duplicate and out-of-range Service ports',
      'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 80}, {port: 80}, {name: x, port: 0}]}\n',
      [
        'spec.ports[0].name: Required value',
        'spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767',
        'spec.ports[1].name: Required value',
        'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
        'spec.ports[2].port: Invalid value: 0: must be between 1 and 65535, inclusive',
        'spec.ports[2].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive',
      ],
    ],
    [
      'a nodePort on a ClusterIP Service',
      'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80, nodePort: 30080}]}\n',
      ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ],
    [
      'an ExternalName Service without a name',
      'apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec: {type: ExternalName}\n',
      ['spec.externalName: Required value'],
    ],
    [
      'a Namespace with dots',
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: team.a}\n',
      ['metadata.name: Invalid value: "team.a": must not contain dots'],
    ],
    [
      'a Secret with a bad key and a TLS secret without keys',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/tls\ndata: {"a b": eA==}\n',
      [
        `data: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
        'data[tls.crt]: Required value',
        'data[tls.key]: Required value',
      ],
    ],
    [
      'a service-account token Secret without its account',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/service-account-token\n',
      ['metadata.annotations[kubernetes.io/service-account.name]: Required value'],
    ],
    [
      'a ConfigMap key present in data and binaryData',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\nbinaryData: {k: dg==}\n',
      ['data[k]: Invalid value: "k": duplicate of key present in binaryData'],
    ],
    [
      'a PVC without access modes or size',
      'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {}\n',
      [
        'spec.accessModes: Required value: at least 1 access mode is required',
        'spec.resources[storage]: Required value',
      ],
    ],
    [
      'a PV without a source',
      'apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce]}\n',
      ['spec: Required value: must specify a volume type'],
    ],
    [
      'a Role with a slash in its name and no verbs',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: a/b}\nrules: [{apiGroups: [""], resources: [pods]}]\n',
      [
        `metadata.name: Invalid value: "a/b": may not contain '/'`,
        'rules[0].verbs: Required value: verbs must contain at least one value',
      ],
    ],
    [
      'a ClusterRoleBinding to a Role',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\nsubjects: [{kind: ServiceAccount, name: sa}]\n',
      [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        'subjects[0].namespace: Required value',
      ],
    ],
    [
      'an Ingress path without pathType',
      'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rules: [{http: {paths: [{path: /, backend: {service: {name: web, port: {number: 80}}}}]}}]}\n',
      ['spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified'],
    ],
    [
      'a StatefulSet mounting a claim template it does not have',
      'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec: {selector: {matchLabels: {a: b}}, podManagementPolicy: Sometimes, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i, volumeMounts: [{name: data, mountPath: /d}]}]}}}\n',
      [
        'spec.podManagementPolicy: Unsupported value: "Sometimes": supported values: "OrderedReady", "Parallel"',
        'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"',
      ],
    ],
    [
      'a Pod in no namespace with an invalid restart policy',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ""}\nspec: {restartPolicy: Sometimes, containers: [{name: c, image: i}]}\n',
      [
        'metadata.namespace: Required value',
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
      ],
    ],
  ])('rejects %s', (_, manifest, expected) => {
    expect(errors(manifest)).toEqual(expected);
  });

  it('lets a StatefulSet mount its claim templates and a DaemonSet default cleanly', () => {
    expect(
      errors(
        'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i, volumeMounts: [{name: data, mountPath: /d}]}]}}, volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}]}\n',
      ),
    ).toEqual([]);
    expect(
      errors(
        'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}\n',
      ),
    ).toEqual([]);
  });
});

describe('validateObject on update', () => {
  function updateErrors(manifest: string, mutate: (obj: any) => void): string[] {
    const { type, obj: old } = load(manifest);
    const updated = structuredClone(old);
    mutate(updated);
    return validateObject(type, updated, old).map((c) => `${c.field}: ${c.message}`);
  }

  it('freezes workload selectors', () => {
    expect(
      updateErrors(deployment, (d) => {
        d.spec.selector.matchLabels.tier = 'x';
        d.spec.template.metadata.labels.tier = 'x';
      }),
    ).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
    expect(updateErrors(deployment, (d) => (d.spec.replicas = 5))).toEqual([]);
  });

  const statefulSet =
    'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec: {serviceName: db, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}\n';

  it('allows only some StatefulSet spec fields to change', () => {
    expect(
      updateErrors(statefulSet, (s) => {
        s.spec.replicas = 3;
        s.spec.template.spec.containers[0].image = 'i:2';
        s.spec.minReadySeconds = 5;
      }),
    ).toEqual([]);
    expect(updateErrors(statefulSet, (s) => (s.spec.serviceName = 'other'))).toEqual([
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ]);
  });

  it('freezes the Job selector and template', () => {
    const job =
      'apiVersion: batch/v1\nkind: Job\nmetadata: {name: pi, uid: u-1}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: pi, image: perl}]}}}\n';
    const result = updateErrors(job, (j) => (j.spec.template.spec.containers[0].image = 'perl:2'));
    expect(result).toHaveLength(1);
    expect(result[0]).toMatch(/^spec\.template: Invalid value: .*: field is immutable$/);
  });

  it('keeps the Service cluster IP once set, but accepts an update that omits it', () => {
    const svc =
      'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}\n';
    expect(updateErrors(svc, (s) => (s.spec.clusterIP = '10.96.0.11'))).toEqual([
      'spec.clusterIP: Invalid value: "10.96.0.11": field is immutable',
    ]);
    expect(updateErrors(svc, (s) => delete s.spec.clusterIP)).toEqual([]);
  });

  it('freezes PVC specs except a growing storage request', () => {
    const pvc =
      'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n';
    expect(updateErrors(pvc, (c) => (c.spec.resources.requests.storage = '2Gi'))).toEqual([]);
    expect(updateErrors(pvc, (c) => (c.spec.accessModes = ['ReadWriteMany']))).toEqual([
      'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    ]);
    expect(updateErrors(pvc, (c) => (c.spec.resources.requests.storage = '512Mi'))).toEqual([
      'spec.resources.requests.storage: Forbidden: field can not be less than previous value',
    ]);
  });

  it('freezes immutable Secrets and ConfigMaps', () => {
    const secret = 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nimmutable: true\ndata: {a: YQ==}\n';
    expect(updateErrors(secret, (s) => (s.data.a = 'Yg=='))).toEqual([
      'data: Forbidden: field is immutable when `immutable` is set',
    ]);
    expect(updateErrors(secret, (s) => (s.immutable = false))).toEqual([
      'immutable: Forbidden: field is immutable when `immutable` is set',
    ]);
    expect(updateErrors(secret, (s) => (s.type = 'kubernetes.io/basic-auth'))).toContain(
      'type: Invalid value: "kubernetes.io/basic-auth": field is immutable',
    );
    const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nimmutable: true\ndata: {a: b}\n';
    expect(updateErrors(configMap, (c) => (c.data.a = 'c'))).toEqual([
      'data: Forbidden: field is immutable when `immutable` is set',
    ]);
    const mutable = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n';
    expect(updateErrors(mutable, (c) => (c.data.a = 'c'))).toEqual([]);
  });

  it('keeps a Node podCIDR once set', () => {
    const node =
      'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDR: 10.244.0.0/24, podCIDRs: [10.244.0.0/24]}\n';
    expect(updateErrors(node, (n) => (n.spec.podCIDRs = ['10.244.1.0/24']))).toEqual([
      'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid',
    ]);
    const fresh = 'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {}\n';
    expect(updateErrors(fresh, (n) => (n.spec.podCIDRs = ['10.244.1.0/24']))).toEqual([]);
  });

  it('lets a Pod change its image but nothing structural', () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i}]}\n';
    expect(updateErrors(pod, (p) => (p.spec.containers[0].image = 'i:2'))).toEqual([]);
    expect(
      updateErrors(pod, (p) => (p.spec.containers[0].ports = [{ containerPort: 80, protocol: 'TCP' }]))[0],
    ).toMatch(/^spec: Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/);
  });

  it('refuses to change a binding roleRef', () => {
    const binding =
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\n';
    expect(updateErrors(binding, (b) => (b.roleRef.name = 'other'))).toEqual([
      'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"other"}: cannot change roleRef',
    ]);
  });
});
