import { StatusError } from '../errors';
import type { KubeObject } from '../object';
import {
  decodeKubernetesProtobuf,
  encodeKubernetesProtobuf,
  isKubernetesProtobuf,
  PROTOBUF_MEDIA_TYPE,
} from '.';
import { allMessages } from './schema';
import { WireWriter } from './wire';

// Bodies kubectl v1.32 sent, recorded off the wire.
const KUBECTL_CAN_I_CREATE_PODS =
  'azhzAAoyChdhdXRob3JpemF0aW9uLms4cy5pby92MRIXU2VsZlN1YmplY3RBY2Nlc3NSZXZpZXcSPwoQCgASABoAIgAqADIAOABCABIhCh8KB2RlZmF1bHQS' +
  'BmNyZWF0ZRoAIgAqBHBvZHMyADoAGggIABIAGgAgABoAIgA=';
const KUBECTL_CREATE_DEPLOYMENT =
  'azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50ErgBCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEoYBCAISDAoKCgNhcHASA3dlYhpsChwKABIAGgAi' +
  'ACoAMgA4AEIAWgoKA2FwcBIDd2ViEkwSLgoFbmdpbngSBW5naW54KgAyCgoAEAAYUCIAKgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEA' +
  'mgEAwgEAIgIKACgAOAAaDAgAEAAYACAAKAA4ABoAIgA=';
const KUBECTL_CREATE_TOKEN =
  'azhzAAooChhhdXRoZW50aWNhdGlvbi5rOHMuaW8vdjESDFRva2VuUmVxdWVzdBIgChAKABIAGgAiACoAMgA4AEIAEgYKAXgg2AQaBAoAEgAaACIA';

function decode(base64: string): KubeObject {
  return decodeKubernetesProtobuf(Buffer.from(base64, 'base64'));
}

function roundTrip(object: KubeObject): KubeObject {
  return decodeKubernetesProtobuf(encodeKubernetesProtobuf(object));
}

function badRequestFor(buf: Buffer): StatusError {
  try {
    decodeKubernetesProtobuf(buf);
  } catch (error) {
    expect(error).toBeInstanceOf(StatusError);
    expect((error as StatusError).code).toBe(400);
    expect((error as StatusError).reason).toBe('BadRequest');
    return error as StatusError;
  }
  throw new Error('decoding succeeded');
}

function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  const typeMeta = new WireWriter();
  typeMeta.bytesField(1, Buffer.from(apiVersion));
  typeMeta.bytesField(2, Buffer.from(kind));
  const unknown = new WireWriter();
  unknown.bytesField(1, typeMeta.finish());
  unknown.bytesField(2, raw);
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), unknown.finish()]);
}

describe('Kubernetes protobuf codec', () => {
  it('compiles every message of the schema', () => {
    expect(allMessages().length).toBeGreaterThan(300);
  });

  it('recognises the envelope magic and names the media type', () => {
    expect(PROTOBUF_MEDIA_TYPE).toBe('application/vnd.kubernetes.protobuf');
    expect(isKubernetesProtobuf(Buffer.from(KUBECTL_CAN_I_CREATE_PODS, 'base64'))).toBe(true);
    expect(isKubernetesProtobuf(Buffer.from('{"kind":"Pod"}'))).toBe(false);
    expect(isKubernetesProtobuf(Buffer.from('k8s'))).toBe(false);
  });

  it('decodes the SelfSubjectAccessReview kubectl auth can-i sends as Go JSON would render it', () => {
    expect(decode(KUBECTL_CAN_I_CREATE_PODS)).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: { namespace: 'default', verb: 'create', resource: 'pods' } },
      status: { allowed: false },
    });
  });

  it('decodes kubectl create deployment and kubectl create token', () => {
    expect(decode(KUBECTL_CREATE_DEPLOYMENT)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', creationTimestamp: null, labels: { app: 'web' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { creationTimestamp: null, labels: { app: 'web' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }] },
        },
      },
    });
    expect(decode(KUBECTL_CREATE_TOKEN)).toEqual({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { creationTimestamp: null },
      spec: { audiences: ['x'], expirationSeconds: 600 },
      status: { expirationTimestamp: null },
    });
  });

  it('round-trips a Deployment with a full pod template', () => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        uid: '6f1c7f0e-1b7a-4f6e-9a59-0a8f3c1d2e4b',
        resourceVersion: '42',
        generation: 3,
        creationTimestamp: '2024-05-01T12:30:45Z',
        labels: { app: 'web' },
        annotations: { 'deployment.kubernetes.io/revision': '2' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Foo', name: 'owner', uid: 'u-1', controller: true }],
        finalizers: ['example.com/keep'],
        managedFields: [
          {
            manager: 'kubectl',
            operation: 'Update',
            apiVersion: 'apps/v1',
            time: '2024-05-01T12:30:45Z',
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:spec': { 'f:replicas': {} } },
          },
        ],
      },
      spec: {
        replicas: 0,
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
        selector: {
          matchLabels: { app: 'web' },
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }],
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 30,
            securityContext: { runAsUser: 1000, runAsNonRoot: true, fsGroup: 2000 },
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] },
                  ],
                },
              },
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 100,
                    podAffinityTerm: {
                      labelSelector: { matchLabels: { app: 'web' } },
                      topologyKey: 'kubernetes.io/hostname',
                    },
                  },
                ],
              },
            },
            tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 60 }],
            containers: [
              {
                name: 'app',
                image: 'nginx:1.27',
                command: ['nginx', '-g', 'daemon off;'],
                ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
                env: [
                  { name: 'MODE', value: 'prod' },
                  { name: 'POD', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
                  {
                    name: 'PASS',
                    valueFrom: { secretKeyRef: { name: 'creds', key: 'password', optional: false } },
                  },
                ],
                envFrom: [{ configMapRef: { name: 'settings' } }],
                resources: {
                  requests: { cpu: '250m', memory: '64Mi' },
                  limits: { cpu: '1', memory: '128Mi' },
                },
                livenessProbe: {
                  httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' },
                  initialDelaySeconds: 5,
                  periodSeconds: 10,
                  failureThreshold: 3,
                },
                readinessProbe: { tcpSocket: { port: 80 }, timeoutSeconds: 1 },
                startupProbe: { exec: { command: ['cat', '/tmp/ready'] } },
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/app', readOnly: true },
                  { name: 'cache', mountPath: '/cache' },
                ],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
            volumes: [
              {
                name: 'config',
                configMap: { name: 'settings', defaultMode: 420, items: [{ key: 'a', path: 'a.conf' }] },
              },
              { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
              { name: 'creds', secret: { secretName: 'creds', optional: true } },
              { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
            ],
          },
        },
      },
      status: {
        observedGeneration: 3,
        replicas: 1,
        conditions: [
          {
            type: 'Available',
            status: 'True',
            lastUpdateTime: '2024-05-01T12:31:00Z',
            lastTransitionTime: '2024-05-01T12:31:00Z',
            reason: 'MinimumReplicasAvailable',
          },
        ],
      },
    };
    expect(roundTrip(deployment)).toEqual(deployment);
  });

  it('round-trips a Secret with binary data, a Namespace and a TokenRequest', () => {
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'tls', namespace: 'default' },
      type: 'kubernetes.io/tls',
      immutable: true,
      data: { 'tls.key': Buffer.from([0, 255, 1, 254, 10]).toString('base64'), empty: '' },
    };
    expect(roundTrip(secret)).toEqual(secret);

    const namespace: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'demo', labels: { 'kubernetes.io/metadata.name': 'demo' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    expect(roundTrip(namespace)).toEqual(namespace);

    const tokenRequest: KubeObject = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: 'builder', namespace: 'default' },
      spec: {
        audiences: ['https://kubernetes.default.svc'],
        expirationSeconds: 3600,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: 'abc' },
      },
      status: { token: 'eyJ...', expirationTimestamp: '2030-01-01T00:00:00Z' },
    };
    expect(roundTrip(tokenRequest)).toEqual(tokenRequest);
  });

  it('keeps MicroTime microseconds, negative integers and extra values of reviews', () => {
    const lease: KubeObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'leader' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2024-05-01T12:30:45.123456Z' },
    };
    expect(roundTrip(lease)).toEqual(lease);
    const review: KubeObject = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: {},
      spec: {
        user: 'jane',
        groups: ['dev'],
        extra: { scopes: ['a', 'b'] },
        resourceAttributes: { verb: 'get' },
      },
      status: { allowed: true, denied: true },
    };
    expect(roundTrip(review)).toEqual(review);
    const event: KubeObject = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' }, count: -3 };
    expect(roundTrip(event)).toEqual(event);
  });

  it('encodes Status and Eviction', () => {
    const eviction: KubeObject = {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'p', namespace: 'default' },
      deleteOptions: { gracePeriodSeconds: 0, propagationPolicy: 'Background' },
    };
    expect(roundTrip(eviction)).toEqual(eviction);
    const status = {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
    };
    expect(roundTrip(status)).toEqual(status);
  });

  describe('rejects bad input with a 400', () => {
    const valid = Buffer.from(KUBECTL_CREATE_DEPLOYMENT, 'base64');

    it('bad magic', () => {
      expect(badRequestFor(Buffer.from('{"kind":"Pod"}')).message).toMatch(/magic/);
    });

    it('every truncation of a real body that cuts a field short', () => {
      // Cuts after the envelope's typeMeta (27) or after its raw field (214) still leave well-formed messages.
      const cutsInsideAField = Array.from({ length: 214 }, (_, index) => index).filter(
        (n) => n >= 4 && n !== 27,
      );
      for (const length of cutsInsideAField) {
        expect(badRequestFor(valid.subarray(0, length)).message).toMatch(
          /malformed|does not name its kind|truncated/,
        );
      }
    });

    it('an overlong varint', () => {
      const overlong = Buffer.concat([
        Buffer.from('k8s\0', 'binary'),
        Buffer.from([0x28]),
        Buffer.alloc(11, 0xff),
      ]);
      expect(badRequestFor(overlong).message).toMatch(/varint longer than 10 bytes/);
    });

    it('a length beyond the end of the body', () => {
      const tooLong = Buffer.concat([
        Buffer.from('k8s\0', 'binary'),
        Buffer.from([0x12, 0xff, 0xff, 0x03, 0x00]),
      ]);
      expect(badRequestFor(tooLong).message).toMatch(/declares 65535 bytes but only 1 remain/);
    });

    it('a known field with the wrong wire type', () => {
      const raw = Buffer.from([0x0a, 0x02, 0x08, 0x01]); // ObjectMeta.name as a varint
      expect(badRequestFor(envelope('v1', 'Namespace', raw)).message).toMatch(
        /field 1 \(name\) of meta.ObjectMeta has wire type 0, expected 2/,
      );
    });

    it('group and invalid wire types and field number zero', () => {
      expect(badRequestFor(envelope('v1', 'Namespace', Buffer.from([0x0b]))).message).toMatch(
        /group wire type/,
      );
      expect(badRequestFor(envelope('v1', 'Namespace', Buffer.from([0x0e]))).message).toMatch(
        /invalid wire type 6/,
      );
      expect(badRequestFor(envelope('v1', 'Namespace', Buffer.from([0x00]))).message).toMatch(
        /invalid field number 0/,
      );
    });

    it('an unknown kind or missing type information', () => {
      expect(badRequestFor(envelope('apps/v1', 'Gizmo', Buffer.alloc(0))).message).toBe(
        'no kind "Gizmo" is registered for version "apps/v1"',
      );
      expect(badRequestFor(Buffer.from('k8s\0', 'binary')).message).toMatch(/does not name its kind/);
    });

    it('a content encoding, a non-JSON raw extension and an impossible timestamp', () => {
      const encoded = Buffer.concat([
        envelope('v1', 'Namespace', Buffer.alloc(0)),
        Buffer.from([0x1a, 0x04]),
        Buffer.from('gzip'),
      ]);
      expect(badRequestFor(encoded).message).toMatch(/content encoding "gzip"/);
      const revision = Buffer.from([0x12, 0x03, 0x0a, 0x01, 0x7b]); // data.raw = "{"
      expect(badRequestFor(envelope('apps/v1', 'ControllerRevision', revision)).message).toMatch(
        /does not hold JSON/,
      );
      const farFuture = Buffer.from([
        0x0a, 0x0c, 0x42, 0x0a, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
      ]);
      expect(badRequestFor(envelope('v1', 'Namespace', farFuture)).message).toMatch(
        /outside the years 1-9999/,
      );
    });

    it('never loops or crashes on random bytes', () => {
      let seed = 7;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
      for (let attempt = 0; attempt < 2000; attempt++) {
        const noise = Buffer.from(Array.from({ length: 1 + (attempt % 64) }, random));
        const body = Buffer.concat([valid.subarray(0, 40), noise]);
        try {
          decodeKubernetesProtobuf(body);
        } catch (error) {
          expect(error).toBeInstanceOf(StatusError);
        }
      }
    });
  });

  describe('encoding', () => {
    it('refuses unknown kinds and values of the wrong type with a 400', () => {
      expect(() => encodeKubernetesProtobuf({ apiVersion: 'v1', kind: 'Gizmo', metadata: {} })).toThrow(
        'no kind "Gizmo" is registered for version "v1"',
      );
      const bad = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd' },
        spec: { replicas: 'two' },
      };
      expect(() => encodeKubernetesProtobuf(bad)).toThrow('spec.replicas must be a number, got "two"');
      const fractional = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: {}, spec: { replicas: 1.5 } };
      expect(() => encodeKubernetesProtobuf(fractional)).toThrow('spec.replicas must be an integer');
      const badTime = { apiVersion: 'v1', kind: 'Namespace', metadata: { creationTimestamp: 'yesterday' } };
      expect(() => encodeKubernetesProtobuf(badTime)).toThrow(
        'metadata.creationTimestamp must be an RFC 3339 time',
      );
      const badList: KubeObject = {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { finalizers: 'x' as unknown as string[] },
      };
      expect(() => encodeKubernetesProtobuf(badList)).toThrow('metadata.finalizers must be a list');
      const badPort = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {},
        spec: { ports: [{ targetPort: true }] },
      };
      expect(() => encodeKubernetesProtobuf(badPort)).toThrow(
        'spec.ports[0].targetPort must be an integer or a string',
      );
    });

    it('writes the envelope kube-apiserver writes', () => {
      const bytes = encodeKubernetesProtobuf({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'a' },
      });
      expect(bytes.toString('hex')).toBe(
        '6b387300' +
          '0a0f0a0276311209' +
          Buffer.from('Namespace').toString('hex') +
          '1205' +
          '0a030a0161' +
          '1a002200',
      );
    });
  });
});
