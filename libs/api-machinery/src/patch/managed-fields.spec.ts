import { StatusError } from '../errors';
import { KubeObject } from '../object';
import { serverSideApply, trackUpdate } from './managed-fields';

const T0 = new Date('2026-01-01T00:00:00.123Z');
const T1 = new Date('2026-01-01T00:05:00Z');

function manifest(
  overrides: { replicas?: number; image?: string; labels?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'default', labels: overrides.labels ?? { app: 'api' } },
    spec: {
      replicas: overrides.replicas ?? 2,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: {
          containers: [
            { name: 'nginx', image: overrides.image ?? 'nginx:1.25', ports: [{ containerPort: 80 }] },
          ],
        },
      },
    },
  };
}

/** What the store would hold after a create: system metadata and status the apply must leave alone. */
function stored(object: KubeObject): KubeObject {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      uid: 'u-1',
      resourceVersion: '5',
      generation: 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    status: { replicas: 2 },
  };
}

function apply(
  current: KubeObject | undefined,
  applied: KubeObject,
  manager = 'kubectl',
  force = false,
  now = T1,
): KubeObject {
  return serverSideApply({ current, applied, manager, force, now });
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

describe('serverSideApply', () => {
  it('creates an object owned by the applier in FieldsV1 form', () => {
    const created = apply(undefined, manifest(), 'kubectl', false, T0);
    expect(created.metadata.name).toBe('api');
    expect(created.metadata.namespace).toBe('default');
    expect(created.spec.replicas).toBe(2);
    expect(created.metadata.managedFields).toEqual([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: '2026-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': { 'f:matchLabels': { 'f:app': {} } },
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': {
                'f:containers': {
                  'k:{"name":"nginx"}': {
                    '.': {},
                    'f:image': {},
                    'f:name': {},
                    'f:ports': { 'k:{"containerPort":80}': { '.': {}, 'f:containerPort': {} } },
                  },
                },
              },
            },
          },
        },
      },
    ]);
  });

  it('updates its own fields without conflict and refreshes its entry', () => {
    const live = stored(apply(undefined, manifest(), 'kubectl', false, T0));
    const updated = apply(live, manifest({ image: 'nginx:1.26', replicas: 3 }));
    expect(updated.spec.template.spec.containers[0].image).toBe('nginx:1.26');
    expect(updated.spec.replicas).toBe(3);
    expect(updated.metadata.managedFields).toHaveLength(1);
    expect(updated.metadata.managedFields?.[0].time).toBe('2026-01-01T00:05:00Z');
    expect(updated.metadata.uid).toBe('u-1');
    expect(updated.metadata.resourceVersion).toBe('5');
    expect(updated.status).toEqual({ replicas: 2 });
  });

  it('keeps keyed list items it merges into', () => {
    const live = stored(apply(undefined, manifest(), 'kubectl', false, T0));
    live.spec.template.spec.containers[0].imagePullPolicy = 'IfNotPresent';
    const updated = apply(live, manifest({ image: 'nginx:1.26' }));
    expect(updated.spec.template.spec.containers).toEqual([
      { name: 'nginx', image: 'nginx:1.26', ports: [{ containerPort: 80 }], imagePullPolicy: 'IfNotPresent' },
    ]);
  });

  it('reports a conflict with an Update manager exactly as kube-apiserver does', () => {
    const created = trackUpdate({
      before: undefined,
      after: manifest(),
      manager: 'kubectl-client-side-apply',
      now: T0,
    });
    const error = rejection(() => apply(stored(created), manifest({ replicas: 3 })));
    expect(error.toStatus()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
      reason: 'Conflict',
      code: 409,
      details: {
        causes: [
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "kubectl-client-side-apply" using apps/v1',
            field: '.spec.replicas',
          },
        ],
      },
    });
  });

  it('groups several conflicts by manager, naming Apply managers without a version', () => {
    const live = stored(apply(undefined, manifest(), 'ci', false, T0));
    const error = rejection(() => apply(live, manifest({ replicas: 5, image: 'nginx:2' }), 'kubectl'));
    expect(error.message).toBe(
      'Apply failed with 2 conflicts: conflicts with "ci":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image',
    );
    expect(error.details?.causes?.map((c) => c.field)).toEqual([
      '.spec.replicas',
      '.spec.template.spec.containers[name="nginx"].image',
    ]);
  });

  it('shares ownership when another manager applies the same values', () => {
    const live = stored(apply(undefined, manifest(), 'ci', false, T0));
    const shared = apply(live, manifest(), 'kubectl');
    expect(shared.metadata.managedFields?.map((m) => m.manager)).toEqual(['ci', 'kubectl']);
    expect(shared.metadata.managedFields?.[0].fieldsV1).toEqual(shared.metadata.managedFields?.[1].fieldsV1);
  });

  it('takes ownership of conflicting fields with force', () => {
    const created = trackUpdate({
      before: undefined,
      after: manifest(),
      manager: 'kubectl-client-side-apply',
      now: T0,
    });
    const forced = apply(stored(created), manifest({ replicas: 3 }), 'kubectl', true);
    expect(forced.spec.replicas).toBe(3);
    const [previous, applier] = forced.metadata.managedFields!;
    expect(previous.manager).toBe('kubectl-client-side-apply');
    expect((previous.fieldsV1['f:spec'] as Record<string, unknown>)['f:replicas']).toBeUndefined();
    expect((applier.fieldsV1['f:spec'] as Record<string, unknown>)['f:replicas']).toEqual({});
  });

  it('removes fields the manager stopped applying', () => {
    const withSidecar = manifest({ labels: { app: 'api', tier: 'web' } });
    withSidecar.spec.template.spec.containers.push({ name: 'sidecar', image: 'busybox' });
    const live = stored(apply(undefined, withSidecar, 'kubectl', false, T0));
    const trimmed = apply(live, manifest());
    expect(trimmed.metadata.labels).toEqual({ app: 'api' });
    expect(trimmed.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['nginx']);
  });

  it('keeps dropped fields that another manager still owns', () => {
    const live = stored(
      apply(undefined, manifest({ labels: { app: 'api', tier: 'web' } }), 'kubectl', false, T0),
    );
    const coOwned = apply(live, manifest({ labels: { app: 'api', tier: 'web' } }), 'ci');
    const trimmed = apply(coOwned, manifest());
    expect(trimmed.metadata.labels).toEqual({ app: 'api', tier: 'web' });
  });

  it('removes an emptied nested map along with its last dropped field', () => {
    const live = stored(
      apply(
        undefined,
        {
          ...manifest(),
          spec: {
            ...manifest().spec,
            template: {
              ...manifest().spec.template,
              spec: { ...manifest().spec.template.spec, nodeSelector: { disk: 'ssd' } },
            },
          },
        },
        'kubectl',
        false,
        T0,
      ),
    );
    const trimmed = apply(live, manifest());
    expect('nodeSelector' in trimmed.spec.template.spec).toBe(false);
  });

  it('attributes fields of an object without managedFields to before-first-apply', () => {
    const legacy = stored(manifest());
    const error = rejection(() => apply(legacy, manifest({ replicas: 4 })));
    expect(error.message).toBe(
      'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas',
    );
    const taken = apply(legacy, manifest({ replicas: 4 }), 'kubectl', true);
    expect(taken.metadata.managedFields?.map((m) => m.manager)).toEqual(['before-first-apply', 'kubectl']);
  });

  it('ignores status on the main resource and tracks only status on the status subresource', () => {
    const withStatus = { ...manifest(), status: { replicas: 9 } };
    const created = apply(undefined, withStatus, 'kubectl', false, T0);
    expect(created.status).toBeUndefined();
    expect(created.metadata.managedFields?.[0].fieldsV1['f:status']).toBeUndefined();

    const live = stored(created);
    const statusApplied = serverSideApply({
      current: live,
      applied: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'api' },
        spec: { replicas: 100 },
        status: { readyReplicas: 2 },
      },
      manager: 'controller',
      force: false,
      now: T1,
      subresource: 'status',
    });
    expect(statusApplied.status).toEqual({ replicas: 2, readyReplicas: 2 });
    expect(statusApplied.spec.replicas).toBe(2);
    const entry = statusApplied.metadata.managedFields?.find((m) => m.manager === 'controller');
    expect(entry).toMatchObject({
      operation: 'Apply',
      subresource: 'status',
      fieldsV1: { 'f:status': { 'f:readyReplicas': {} } },
    });
  });

  it('keys set-typed lists by value', () => {
    const withFinalizers = {
      ...manifest(),
      metadata: { ...manifest().metadata, finalizers: ['example.com/x'] },
    };
    const created = apply(undefined, withFinalizers, 'kubectl', false, T0);
    expect((created.metadata.managedFields?.[0].fieldsV1['f:metadata'] as any)['f:finalizers']).toEqual({
      'v:"example.com/x"': {},
    });
  });

  it('does not modify its inputs', () => {
    const live = stored(apply(undefined, manifest(), 'kubectl', false, T0));
    const snapshot = structuredClone(live);
    const applied = manifest({ image: 'x' });
    apply(live, applied);
    expect(live).toEqual(snapshot);
    expect(applied).toEqual(manifest({ image: 'x' }));
  });

  it('requires a field manager', () => {
    const error = rejection(() => apply(undefined, manifest(), ''));
    expect([error.code, error.reason, error.message]).toEqual([
      400,
      'BadRequest',
      'fieldManager: Required value: is required for apply patch',
    ]);
  });

  it('refuses an apply configuration that carries managedFields', () => {
    const applied = manifest();
    applied.metadata.managedFields = [
      { manager: 'x', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} },
    ];
    const error = rejection(() => apply(undefined, applied));
    expect([error.code, error.message]).toEqual([400, 'metadata.managedFields must be nil']);
  });

  it('refuses an apply configuration that is not an object', () => {
    expect(rejection(() => apply(undefined, [] as unknown as KubeObject)).code).toBe(400);
    expect(
      rejection(() => apply(undefined, { ...manifest(), metadata: 'x' } as unknown as KubeObject)).code,
    ).toBe(400);
  });

  it('refuses keyed list items without their key', () => {
    const applied = manifest();
    applied.spec.template.spec.containers = [{ image: 'nginx' }];
    const error = rejection(() => apply(undefined, applied));
    expect(error.message).toBe(
      'failed to create typed patch object (apps/v1, Kind=Deployment): .spec.template.spec.containers: element 0: ' +
        'associative list with keys has an element that omits key field "name" (and doesn\'t have default value)',
    );
  });
});

describe('trackUpdate', () => {
  it('records an Update entry for a create', () => {
    const created = trackUpdate({
      before: undefined,
      after: stored(manifest()),
      manager: 'kubectl-create',
      now: T0,
    });
    expect(created.metadata.managedFields).toHaveLength(1);
    expect(created.metadata.managedFields?.[0]).toMatchObject({
      manager: 'kubectl-create',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: '2026-01-01T00:00:00Z',
    });
    const fields = created.metadata.managedFields![0].fieldsV1;
    expect(fields['f:status']).toBeUndefined();
    expect(Object.keys(fields['f:metadata'] as object)).toEqual(['f:labels']);
  });

  it('moves changed fields to the writer and merges repeated writes into one entry', () => {
    const created = trackUpdate({
      before: undefined,
      after: stored(manifest()),
      manager: 'kubectl-create',
      now: T0,
    });
    const after = structuredClone(created);
    after.spec.template.spec.containers[0].image = 'nginx:1.27';
    const setImage = trackUpdate({ before: created, after, manager: 'kubectl-set', now: T1 });
    const [creator, setter] = setImage.metadata.managedFields!;
    const containersOf = (fields: Record<string, any>) =>
      fields['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}'];
    expect(containersOf(creator.fieldsV1)['f:image']).toBeUndefined();
    expect(setter).toMatchObject({
      manager: 'kubectl-set',
      operation: 'Update',
      time: '2026-01-01T00:05:00Z',
    });
    expect(setter.fieldsV1).toEqual({
      'f:spec': {
        'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { 'f:image': {} } } } },
      },
    });

    const again = structuredClone(setImage);
    again.spec.replicas = 7;
    const second = trackUpdate({ before: setImage, after: again, manager: 'kubectl-set', now: T1 });
    expect(second.metadata.managedFields).toHaveLength(2);
    expect((second.metadata.managedFields![1].fieldsV1['f:spec'] as any)['f:replicas']).toEqual({});
  });

  it('drops removed fields from every owner and entries left empty', () => {
    const created = trackUpdate({
      before: undefined,
      after: manifest({ labels: { app: 'api', tier: 'web' } }),
      manager: 'a',
      now: T0,
    });
    const labelled = structuredClone(created);
    labelled.metadata.labels = { app: 'api', tier: 'db' };
    const relabelled = trackUpdate({ before: created, after: labelled, manager: 'kubectl-label', now: T1 });
    const unlabelled = structuredClone(relabelled);
    unlabelled.metadata.labels = { app: 'api' };
    const result = trackUpdate({ before: relabelled, after: unlabelled, manager: 'someone', now: T1 });
    expect(result.metadata.managedFields?.map((m) => m.manager)).toEqual(['a']);
    expect((result.metadata.managedFields![0].fieldsV1['f:metadata'] as any)['f:labels']).toEqual({
      'f:app': {},
    });
  });

  it('keeps the previous managedFields when the writer sends none', () => {
    const created = trackUpdate({ before: undefined, after: manifest(), manager: 'a', now: T0 });
    const replaced = manifest({ replicas: 4 });
    const result = trackUpdate({ before: created, after: replaced, manager: 'kubectl-replace', now: T1 });
    expect(result.metadata.managedFields?.map((m) => m.manager)).toEqual(['a', 'kubectl-replace']);
  });

  it('honours managedFields replaced by the client (CSA to SSA migration)', () => {
    const created = trackUpdate({
      before: undefined,
      after: manifest(),
      manager: 'kubectl-client-side-apply',
      now: T0,
    });
    const migrated = structuredClone(created);
    migrated.metadata.managedFields = created.metadata.managedFields!.map((m) => ({
      ...m,
      manager: 'kubectl',
      operation: 'Apply' as const,
    }));
    const result = trackUpdate({ before: created, after: migrated, manager: 'kubectl', now: T1 });
    expect(result.metadata.managedFields).toEqual(migrated.metadata.managedFields);
    const reapplied = apply(result, manifest({ replicas: 3 }));
    expect(reapplied.spec.replicas).toBe(3);
  });

  it('ignores undecodable managedFields from the client', () => {
    const created = trackUpdate({ before: undefined, after: manifest(), manager: 'a', now: T0 });
    const broken = structuredClone(created);
    broken.metadata.managedFields = [{ manager: 'x' } as never];
    const result = trackUpdate({ before: created, after: broken, manager: 'b', now: T1 });
    expect(result.metadata.managedFields).toEqual(created.metadata.managedFields);
  });

  it('strips managedFields when asked with a single empty entry', () => {
    const created = trackUpdate({ before: undefined, after: manifest(), manager: 'a', now: T0 });
    const reset = structuredClone(created);
    reset.metadata.managedFields = [{} as never];
    expect(
      trackUpdate({ before: created, after: reset, manager: 'b', now: T1 }).metadata.managedFields,
    ).toBeUndefined();
  });

  it('ignores status writes on the main resource and tracks them on the status subresource', () => {
    const created = trackUpdate({ before: undefined, after: stored(manifest()), manager: 'a', now: T0 });
    const withStatus = structuredClone(created);
    withStatus.status = { replicas: 3 };
    expect(
      trackUpdate({ before: created, after: withStatus, manager: 'b', now: T1 }).metadata.managedFields,
    ).toHaveLength(1);
    const statusWrite = trackUpdate({
      before: created,
      after: withStatus,
      manager: 'b',
      now: T1,
      subresource: 'status',
    });
    expect(statusWrite.metadata.managedFields?.[1]).toMatchObject({
      manager: 'b',
      subresource: 'status',
      fieldsV1: { 'f:status': { 'f:replicas': {} } },
    });
  });

  it('skips tracking without a manager and leaves its inputs alone', () => {
    const before = manifest();
    const after = manifest({ replicas: 4 });
    const result = trackUpdate({ before, after, manager: '', now: T1 });
    expect(result).toEqual(after);
    expect(result).not.toBe(after);
    trackUpdate({ before, after, manager: 'm', now: T1 });
    expect(after).toEqual(manifest({ replicas: 4 }));
    expect(before).toEqual(manifest());
  });
});
