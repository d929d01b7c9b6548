import { StatusError } from '../errors';
import { applyPatch } from './apply-patch';
import { jsonMergePatch } from './json-merge-patch';
import { deployment, node } from './spec-fixtures';

function rejection(run: () => unknown): StatusError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StatusError);
    return error as StatusError;
  }
  throw new Error('expected a StatusError');
}

describe('jsonMergePatch', () => {
  it('follows RFC 7386', () => {
    expect(jsonMergePatch({ a: 'b', c: { d: 'e', f: 'g' } }, { a: 'z', c: { f: null } })).toEqual({
      a: 'z',
      c: { d: 'e' },
    });
    expect(jsonMergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
    expect(jsonMergePatch({ a: 'b' }, ['c'])).toEqual(['c']);
    expect(jsonMergePatch('text', { a: { b: null, c: 1 } })).toEqual({ a: { c: 1 } });
    expect(jsonMergePatch({ a: 1 }, null)).toBeNull();
  });

  it('returns a value that shares nothing with its inputs', () => {
    const target = { keep: { deep: 1 }, list: [1] };
    const patch = { added: { x: 1 } };
    const result = jsonMergePatch(target, patch) as any;
    result.keep.deep = 2;
    result.added.x = 2;
    expect(target).toEqual({ keep: { deep: 1 }, list: [1] });
    expect(patch).toEqual({ added: { x: 1 } });
  });
});

describe('applyPatch', () => {
  it('labels and unlabels with a merge patch (kubectl label)', () => {
    const labelled = applyPatch('Deployment', 'apps/v1', deployment(), 'application/merge-patch+json', {
      metadata: { labels: { env: 'prod' } },
    });
    expect(labelled.metadata.labels).toEqual({ app: 'web', env: 'prod' });
    const removed = applyPatch('Deployment', 'apps/v1', labelled, 'application/merge-patch+json', {
      metadata: { labels: { env: null } },
    });
    expect(removed.metadata.labels).toEqual({ app: 'web' });
  });

  it('annotates with a merge patch (kubectl annotate)', () => {
    const result = applyPatch('Deployment', 'apps/v1', deployment(), 'application/merge-patch+json', {
      metadata: { annotations: { owner: 'me' } },
    });
    expect(result.metadata.annotations?.owner).toBe('me');
  });

  it('runs strategic merge patches through the kind schema', () => {
    const result = applyPatch('Node', 'v1', node(), 'application/strategic-merge-patch+json', {
      spec: { unschedulable: true },
    });
    expect(result.spec.unschedulable).toBe(true);
  });

  it('uses the request apiVersion when the stored object lacks one', () => {
    const bare = deployment();
    delete bare.apiVersion;
    const result = applyPatch('Deployment', 'apps/v1', bare, 'application/strategic-merge-patch+json', {
      spec: { template: { spec: { containers: [{ name: 'extra', image: 'x' }] } } },
    });
    expect(result.spec.template.spec.containers).toHaveLength(3);
  });

  it('treats a null strategic or JSON patch as empty', () => {
    expect(applyPatch('Node', 'v1', node(), 'application/strategic-merge-patch+json', null)).toEqual(node());
    expect(applyPatch('Node', 'v1', node(), 'application/json-patch+json', null)).toEqual(node());
  });

  it('undoes a Deployment with a JSON patch replacing template and annotations (kubectl rollout undo)', () => {
    const template = {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.24' }] },
    };
    const current = deployment();
    const result = applyPatch('Deployment', 'apps/v1', current, 'application/json-patch+json', [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '1' } },
    ]);
    expect(result.spec.template).toEqual(template);
    expect(current).toEqual(deployment());
  });

  it('replaces managedFields through a JSON patch (CSA to SSA migration)', () => {
    const managedFields = [
      { manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: {} },
    ];
    const result = applyPatch('Deployment', 'apps/v1', deployment(), 'application/json-patch+json', [
      { op: 'replace', path: '/metadata/managedFields', value: managedFields },
    ]);
    expect(result.metadata.managedFields).toEqual(managedFields);
  });

  it('answers a failing test operation with the bare upstream 422', () => {
    const error = rejection(() =>
      applyPatch('Deployment', 'apps/v1', deployment(), 'application/json-patch+json', [
        { op: 'test', path: '/metadata/resourceVersion', value: '9' },
        { op: 'replace', path: '/spec/replicas', value: 5 },
      ]),
    );
    expect(error.toStatus()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server rejected our request due to an error in our request',
      reason: 'Invalid',
      details: {},
      code: 422,
    });
  });

  it('answers an unknown op, a missing path or a non-object result with 422', () => {
    const run = (ops: unknown) =>
      rejection(() => applyPatch('Deployment', 'apps/v1', deployment(), 'application/json-patch+json', ops));
    expect(run([{ op: 'frobnicate', path: '/spec' }]).code).toBe(422);
    expect(run([{ op: 'remove', path: '/spec/template/spec/affinity' }]).code).toBe(422);
    expect(run([{ op: 'replace', path: '', value: 'scalar' }]).code).toBe(422);
  });

  it('answers a JSON patch body that is not a list of operations with 400', () => {
    const notList = rejection(() =>
      applyPatch('Deployment', 'apps/v1', deployment(), 'application/json-patch+json', { op: 'add' }),
    );
    expect([notList.code, notList.message]).toEqual([
      400,
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    ]);
    const notOp = rejection(() =>
      applyPatch('Deployment', 'apps/v1', deployment(), 'application/json-patch+json', ['add']),
    );
    expect([notOp.code, notOp.message]).toEqual([
      400,
      'json: cannot unmarshal string into Go value of type jsonpatch.Operation',
    ]);
  });

  it('refuses more operations than upstream allows', () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/kind', value: 'Deployment' }));
    const error = rejection(() =>
      applyPatch('Deployment', 'apps/v1', deployment(), 'application/json-patch+json', ops),
    );
    expect(error.code).toBe(413);
    expect(error.message).toContain('got 10001');
  });

  it('answers merge and strategic patch bodies that are not objects with 400', () => {
    const merge = rejection(() =>
      applyPatch('Deployment', 'apps/v1', deployment(), 'application/merge-patch+json', [1]),
    );
    expect([merge.code, merge.message]).toEqual([
      400,
      'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}',
    ]);
    const smp = rejection(() =>
      applyPatch('Deployment', 'apps/v1', deployment(), 'application/strategic-merge-patch+json', 'x'),
    );
    expect([smp.code, smp.message]).toEqual([
      400,
      'json: cannot unmarshal string into Go value of type map[string]interface {}',
    ]);
  });
});
