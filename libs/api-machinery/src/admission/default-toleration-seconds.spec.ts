import type { KubeObject } from '../object';
import { admitDefaultTolerationSeconds } from './default-toleration-seconds';

const pod = (tolerations?: unknown[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...(tolerations ? { tolerations } : {}) },
});

const notReady = {
  key: 'node.kubernetes.io/not-ready',
  operator: 'Exists',
  effect: 'NoExecute',
  tolerationSeconds: 300,
};
const unreachable = { ...notReady, key: 'node.kubernetes.io/unreachable' };

describe('DefaultTolerationSeconds admission', () => {
  it('adds both tolerations, after the pod’s own, to a pod that tolerates neither taint', () => {
    const own = { key: 'gpu', operator: 'Exists', effect: 'NoSchedule' };
    expect(admitDefaultTolerationSeconds(pod()).spec.tolerations).toEqual([notReady, unreachable]);
    expect(admitDefaultTolerationSeconds(pod([own])).spec.tolerations).toEqual([own, notReady, unreachable]);
  });

  it('keeps a toleration the pod has for a taint, whatever its seconds or operator', () => {
    const forever = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' };
    expect(admitDefaultTolerationSeconds(pod([forever])).spec.tolerations).toEqual([forever, notReady]);
    const short = { key: 'node.kubernetes.io/not-ready', operator: 'Equal', tolerationSeconds: 5 };
    expect(admitDefaultTolerationSeconds(pod([short])).spec.tolerations).toEqual([short, unreachable]);
  });

  it('counts an empty key as every taint and an empty effect as every effect, but not other effects', () => {
    const everything = { operator: 'Exists' };
    expect(admitDefaultTolerationSeconds(pod([everything])).spec.tolerations).toEqual([everything]);
    const everyNoExecute = { operator: 'Exists', effect: 'NoExecute' };
    expect(admitDefaultTolerationSeconds(pod([everyNoExecute])).spec.tolerations).toEqual([everyNoExecute]);
    const noSchedule = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' };
    expect(admitDefaultTolerationSeconds(pod([noSchedule])).spec.tolerations).toEqual([
      noSchedule,
      notReady,
      unreachable,
    ]);
  });

  it('leaves its input alone and is idempotent', () => {
    const input = pod();
    const once = admitDefaultTolerationSeconds(input);
    expect(input.spec.tolerations).toBeUndefined();
    expect(admitDefaultTolerationSeconds(once)).toEqual(once);
  });
});
