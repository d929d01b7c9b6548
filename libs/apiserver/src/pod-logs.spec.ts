import type { KubeObject } from '@kubetime/api-machinery';
import { podLogRefusal } from './pod-logs';

function pod(status: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'nginx' }], ...extra },
    status: status ? { containerStatuses: [{ name: 'c', ...status }] } : {},
  };
}

const refusal = (p: KubeObject, container?: string, previous = false) =>
  podLogRefusal(p, { container, previous })?.toStatus();

describe('podLogRefusal', () => {
  it('reads a running container, and one that ran before, even while it waits again', () => {
    expect(refusal(pod({ state: { running: {} }, containerID: 'containerd://1' }))).toBeUndefined();
    const restarting = pod({
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, containerID: 'containerd://1' } },
    });
    expect(refusal(restarting)).toBeUndefined();
    expect(refusal(restarting, 'c', true)).toBeUndefined();
  });

  it('words the kubelet refusals for containers that never ran', () => {
    const message = (p: KubeObject, previous = false) => refusal(p, undefined, previous)?.message;
    expect(message(pod({ state: { waiting: { reason: 'ErrImagePull' } } }))).toBe(
      `container "c" in pod "p" is waiting to start: image can't be pulled`,
    );
    expect(message(pod({ state: { waiting: { reason: 'ImagePullBackOff' } } }))).toBe(
      'container "c" in pod "p" is waiting to start: trying and failing to pull image',
    );
    expect(message(pod({ state: { terminated: { exitCode: 128 } } }))).toBe(
      'container "c" in pod "p" is terminated',
    );
    expect(message(pod({ state: { running: {} } }), true)).toBe(
      'previous terminated container "c" in pod "p" not found',
    );
    expect(message(pod(undefined))).toBe('container "c" in pod "p" is not available');
    expect(message(pod({ state: {} }))).toBe('container "c" in pod "p" is waiting to start - no logs yet');
  });

  it('lists init containers first when a container must be chosen, and reads an unscheduled pod as empty', () => {
    const several = pod(undefined, {
      initContainers: [{ name: 'init', image: 'busybox' }],
      containers: [
        { name: 'a', image: 'nginx' },
        { name: 'b', image: 'nginx' },
      ],
    });
    expect(refusal(several)).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'a container name must be specified for pod p, choose one of: [init a b]',
    });
    expect(refusal(pod(undefined, { nodeName: undefined }))).toBeUndefined();
  });
});
