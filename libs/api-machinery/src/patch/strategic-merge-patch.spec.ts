import { StatusError } from '../errors';
import { KubeObject } from '../object';
import { deployment, node } from './spec-fixtures';
import { strategicMergePatch } from './strategic-merge-patch';

function containers(object: KubeObject): any[] {
  return object.spec.template.spec.containers;
}

function rejection(run: () => unknown): StatusError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StatusError);
    return error as StatusError;
  }
  throw new Error('expected a StatusError');
}

describe('strategicMergePatch: kubectl bodies', () => {
  it('applies a client-side re-apply that changes image, replicas and a label and drops env', () => {
    const original = deployment();
    const patch = {
      metadata: {
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}\n' },
        labels: { tier: 'frontend' },
      },
      spec: {
        replicas: 3,
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'nginx' }],
            containers: [{ env: null, image: 'nginx:1.26', name: 'nginx' }],
          },
        },
      },
    };
    const result = strategicMergePatch('Deployment', original, patch);
    expect(result.spec.replicas).toBe(3);
    expect(result.metadata.labels).toEqual({ app: 'web', tier: 'frontend' });
    expect(result.metadata.annotations).toEqual({
      'deployment.kubernetes.io/revision': '1',
      'kubectl.kubernetes.io/last-applied-configuration': '{}\n',
    });
    const [nginx, sidecar] = containers(result);
    expect(nginx).toEqual({
      name: 'nginx',
      image: 'nginx:1.26',
      args: ['-g', 'daemon off;'],
      ports: [{ containerPort: 80, protocol: 'TCP' }],
    });
    // The sidecar is not the client's, so it stays, behind the element the client ordered.
    expect(sidecar.name).toBe('sidecar');
    expect(original).toEqual(deployment());
  });

  it('sets an image by container name (kubectl set image)', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'nginx' }],
            containers: [{ image: 'nginx:1.27', name: 'nginx' }],
          },
        },
      },
    });
    expect(containers(result).map((c) => [c.name, c.image])).toEqual([
      ['nginx', 'nginx:1.27'],
      ['sidecar', 'busybox'],
    ]);
    expect(containers(result)[0].env).toHaveLength(2);
  });

  it('reorders keyed elements by $setElementOrder', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      spec: {
        template: { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'nginx' }] } },
      },
    });
    expect(containers(result).map((c) => c.name)).toEqual(['sidecar', 'nginx']);
  });

  it('adds a taint by sending the whole list and removes the last one with null (taints are atomic)', () => {
    const tainted = strategicMergePatch('Node', node(), {
      spec: { taints: [{ effect: 'NoSchedule', key: 'dedicated', value: 'gpu' }] },
    });
    expect(tainted.spec.taints).toEqual([{ effect: 'NoSchedule', key: 'dedicated', value: 'gpu' }]);
    const twice = strategicMergePatch('Node', tainted, {
      spec: {
        taints: [
          { effect: 'NoExecute', key: 'x' },
          { effect: 'NoSchedule', key: 'dedicated', value: 'gpu' },
        ],
      },
    });
    expect(twice.spec.taints).toHaveLength(2);
    const one = strategicMergePatch('Node', twice, { spec: { taints: [{ effect: 'NoExecute', key: 'x' }] } });
    expect(one.spec.taints).toEqual([{ effect: 'NoExecute', key: 'x' }]);
    const none = strategicMergePatch('Node', one, { spec: { taints: null } });
    expect(none.spec).toEqual({ podCIDRs: ['10.0.0.0/24'] });
  });

  it('cordons and uncordons a node', () => {
    const cordoned = strategicMergePatch('Node', node(), { spec: { unschedulable: true } });
    expect(cordoned.spec.unschedulable).toBe(true);
    const uncordoned = strategicMergePatch('Node', cordoned, { spec: { unschedulable: null } });
    expect('unschedulable' in uncordoned.spec).toBe(false);
  });

  it('records a rollout restart in the template annotations', () => {
    const patch = {
      spec: {
        template: {
          metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-22T02:35:53Z' } },
        },
      },
    };
    const result = strategicMergePatch('Deployment', deployment(), patch);
    expect(result.spec.template.metadata).toEqual({
      labels: { app: 'web' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-22T02:35:53Z' },
    });
  });

  it('pauses and resumes a rollout', () => {
    const paused = strategicMergePatch('Deployment', deployment(), { spec: { paused: true } });
    expect(paused.spec.paused).toBe(true);
    expect('paused' in strategicMergePatch('Deployment', paused, { spec: { paused: null } }).spec).toBe(
      false,
    );
  });

  it('replaces a StatefulSet template wholesale on rollout undo ($patch: replace)', () => {
    const sts: KubeObject = { ...deployment(), kind: 'StatefulSet' };
    sts.spec.template.metadata.annotations = { restarted: 'yes' };
    const result = strategicMergePatch('StatefulSet', sts, {
      spec: {
        template: {
          $patch: 'replace',
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'db', image: 'postgres:16' }] },
        },
      },
    });
    expect(result.spec.template).toEqual({
      metadata: { labels: { app: 'db' } },
      spec: { containers: [{ name: 'db', image: 'postgres:16' }] },
    });
    expect(result.spec.replicas).toBe(2);
  });

  it('keeps only $retainKeys when the strategy switches from RollingUpdate to Recreate', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } },
    });
    expect(result.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('removes finalizers with $deleteFromPrimitiveList and unions new ones', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      metadata: {
        '$deleteFromPrimitiveList/finalizers': ['example.com/a'],
        finalizers: ['example.com/c', 'example.com/b'],
      },
    });
    expect(result.metadata.finalizers).toEqual(['example.com/b', 'example.com/c']);
  });

  it('orders a primitive set by $setElementOrder', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      metadata: { '$setElementOrder/finalizers': ['example.com/b', 'example.com/a'] },
    });
    expect(result.metadata.finalizers).toEqual(['example.com/b', 'example.com/a']);
  });

  it('deletes a keyed element with $patch: delete', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } },
    });
    expect(containers(result).map((c) => c.name)).toEqual(['nginx']);
  });

  it('replaces a keyed list when it carries a {$patch: replace} element', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } } },
    });
    expect(containers(result)).toEqual([{ name: 'only', image: 'x' }]);
  });

  it('turns a map into {} with $patch: delete', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      spec: { selector: { $patch: 'delete' } },
    });
    expect(result.spec.selector).toEqual({});
  });
});

describe('strategicMergePatch: merge keys by kind and path', () => {
  it('merges env by name, container ports by containerPort, volumes by name', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'nginx',
                env: [
                  { name: 'B', value: 'two' },
                  { name: 'C', value: '3' },
                ],
                ports: [{ containerPort: 443 }],
              },
            ],
            volumes: [{ name: 'cache', emptyDir: {} }],
          },
        },
      },
    });
    const nginx = containers(result)[0];
    expect(nginx.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
    ]);
    expect(nginx.ports.map((p: any) => p.containerPort)).toEqual([80, 443]);
    expect(result.spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['data', 'cache']);
  });

  it('replaces atomic lists such as args', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      spec: { template: { spec: { containers: [{ name: 'nginx', args: ['-v'] }] } } },
    });
    expect(containers(result)[0].args).toEqual(['-v']);
  });

  it('merges Service ports by port', () => {
    const svc: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { ports: [{ port: 80, targetPort: 8080 }] },
    };
    const result = strategicMergePatch('Service', svc, {
      spec: { ports: [{ port: 80, name: 'http' }, { port: 443 }] },
    });
    expect(result.spec.ports).toEqual([{ port: 80, targetPort: 8080, name: 'http' }, { port: 443 }]);
  });

  it('reaches the pod template inside a CronJob job template', () => {
    const cj: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: '1' }] } } } } },
    };
    const result = strategicMergePatch('CronJob', cj, {
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'b', image: '2' }] } } } } },
    });
    expect(result.spec.jobTemplate.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['a', 'b']);
  });

  it('merges node addresses and conditions by type, podCIDRs as a set', () => {
    const original = node();
    original.status.conditions = [{ type: 'Ready', status: 'False' }];
    const result = strategicMergePatch('Node', original, {
      spec: { podCIDRs: ['10.0.0.0/24', 'fd00::/64'] },
      status: {
        addresses: [{ type: 'Hostname', address: 'node-1' }],
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    });
    expect(result.spec.podCIDRs).toEqual(['10.0.0.0/24', 'fd00::/64']);
    expect(result.status.addresses.map((a: any) => a.type)).toEqual(['InternalIP', 'Hostname']);
    expect(result.status.conditions).toEqual([{ type: 'Ready', status: 'True' }]);
  });

  it('merges ownerReferences by uid', () => {
    const original = deployment();
    original.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'X', name: 'a', uid: '1' }];
    const result = strategicMergePatch('Deployment', original, {
      metadata: {
        ownerReferences: [
          { uid: '1', controller: true },
          { apiVersion: 'v1', kind: 'X', name: 'b', uid: '2' },
        ],
      },
    });
    expect(result.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'X', name: 'a', uid: '1', controller: true },
      { apiVersion: 'v1', kind: 'X', name: 'b', uid: '2' },
    ]);
  });

  it('falls back to JSON merge patch for kinds it has no schema for', () => {
    const crd: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec: { items: [{ name: 'a' }] },
    };
    const result = strategicMergePatch('Widget', crd, { spec: { items: [{ name: 'b' }] } });
    expect(result.spec.items).toEqual([{ name: 'b' }]);
  });

  it('treats a built-in kind name in a custom group as a custom resource', () => {
    const custom: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { template: { spec: { containers: [{ name: 'a' }] } } },
    };
    const result = strategicMergePatch('Deployment', custom, {
      spec: { template: { spec: { containers: [{ name: 'b' }] } } },
    });
    expect(result.spec.template.spec.containers).toEqual([{ name: 'b' }]);
  });

  it('drops nulls inside a subtree the original lacks', () => {
    const result = strategicMergePatch('Deployment', deployment(), {
      spec: { template: { spec: { nodeSelector: { a: '1', b: null } } } },
    });
    expect(result.spec.template.spec.nodeSelector).toEqual({ a: '1' });
  });
});

describe('strategicMergePatch: bad patches', () => {
  it('rejects a body that is not an object', () => {
    const error = rejection(() =>
      strategicMergePatch('Deployment', deployment(), [] as unknown as Record<string, unknown>),
    );
    expect(error.code).toBe(400);
    expect(error.message).toBe('json: cannot unmarshal array into Go value of type map[string]interface {}');
  });

  it('rejects a keyed element without its merge key like upstream', () => {
    const error = rejection(() =>
      strategicMergePatch('Deployment', deployment(), {
        spec: { template: { spec: { containers: [{ image: 'httpd' }] } } },
      }),
    );
    expect(error.code).toBe(500);
    expect(error.message).toBe('map: map[image:httpd] does not contain declared merge key: name');
  });

  it('rejects a non-object element in a keyed list', () => {
    const error = rejection(() =>
      strategicMergePatch('Deployment', deployment(), {
        spec: { template: { spec: { containers: ['x'] } } },
      }),
    );
    expect(error.message).toContain('does not contain declared merge key: name');
  });

  it('rejects an unknown $patch directive', () => {
    const error = rejection(() =>
      strategicMergePatch('Deployment', deployment(), { spec: { $patch: 'explode' } }),
    );
    expect(error.code).toBe(500);
    expect(error.message).toBe('unknown patch type: explode in map: map[$patch:explode]');
  });

  it('rejects a malformed $retainKeys', () => {
    const error = rejection(() =>
      strategicMergePatch('Deployment', deployment(), { spec: { strategy: { $retainKeys: 'type' } } }),
    );
    expect([error.code, error.message]).toEqual([400, 'invalid patch format of retainKeys']);
  });

  it('rejects patch keys missing from $retainKeys with a 422', () => {
    const error = rejection(() =>
      strategicMergePatch('Deployment', deployment(), {
        spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } },
      }),
    );
    expect([error.code, error.reason]).toEqual([422, 'Invalid']);
  });

  it('rejects a malformed $deleteFromPrimitiveList', () => {
    const error = rejection(() =>
      strategicMergePatch('Deployment', deployment(), {
        metadata: { '$deleteFromPrimitiveList/finalizers': 'example.com/a' },
      }),
    );
    expect([error.code, error.message]).toEqual([400, 'invalid patch format of primitive list']);
  });

  it('rejects a malformed $setElementOrder', () => {
    const notList = rejection(() =>
      strategicMergePatch('Deployment', deployment(), {
        spec: { template: { spec: { '$setElementOrder/containers': 'nginx' } } },
      }),
    );
    expect([notList.code, notList.message]).toEqual([400, 'invalid patch format of setElementOrder list']);
    const noKey = rejection(() =>
      strategicMergePatch('Deployment', deployment(), {
        spec: { template: { spec: { '$setElementOrder/containers': [{ image: 'x' }] } } },
      }),
    );
    expect(noKey.code).toBe(400);
  });
});
