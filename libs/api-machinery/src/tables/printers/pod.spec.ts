import { KubeObject } from '../../object';
import { ago, render, rowByColumn } from '../spec-fixtures';

/** A pod of seed 004's my-nginx-deployment, running on a single-node k3s cluster. */
function nginxPod(
  name: string,
  overrides: { status?: Record<string, unknown>; metadata?: Record<string, unknown> } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      creationTimestamp: ago(98),
      labels: { app: 'my-nginx', 'pod-template-hash': '9b459b4c5' },
      ...overrides.metadata,
    },
    spec: { nodeName: 'rpi4b', containers: [{ name: 'nginx', image: 'nginx:latest' }] },
    status: {
      phase: 'Running',
      podIP: '10.42.0.129',
      podIPs: [{ ip: '10.42.0.129' }],
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
        { type: 'PodScheduled', status: 'True' },
      ],
      containerStatuses: [
        {
          name: 'nginx',
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: ago(95) } },
        },
      ],
      ...overrides.status,
    },
  };
}

function waitingPod(reason: string, restartCount = 0, lastFinishedSecondsAgo?: number): KubeObject {
  return nginxPod('my-nginx-deployment-759b76bcd5-4jccd', {
    status: {
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'False' },
      ],
      containerStatuses: [
        {
          name: 'nginx',
          ready: false,
          restartCount,
          state: { waiting: { reason } },
          lastState:
            lastFinishedSecondsAgo === undefined
              ? {}
              : { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(lastFinishedSecondsAgo) } },
        },
      ],
    },
  });
}

describe('pod table', () => {
  it('prints the default columns of a running pod as `kubectl get pods` in seed 004', () => {
    expect(rowByColumn('v1', 'pods', nginxPod('my-nginx-deployment-9b459b4c5-cst47'))).toEqual({
      Name: 'my-nginx-deployment-9b459b4c5-cst47',
      Ready: '1/1',
      Status: 'Running',
      Restarts: '0',
      Age: '98s',
      IP: '10.42.0.129',
      Node: 'rpi4b',
      'Nominated Node': '<none>',
      'Readiness Gates': '<none>',
    });
  });

  it('declares the upstream columns with the wide ones at priority 1', () => {
    const { columnDefinitions } = render('v1', 'pods', []);
    expect(columnDefinitions.map((c) => [c.name, c.type, c.format, c.priority])).toEqual([
      ['Name', 'string', 'name', 0],
      ['Ready', 'string', '', 0],
      ['Status', 'string', '', 0],
      ['Restarts', 'string', '', 0],
      ['Age', 'string', '', 0],
      ['IP', 'string', '', 1],
      ['Node', 'string', '', 1],
      ['Nominated Node', 'string', '', 1],
      ['Readiness Gates', 'string', '', 1],
    ]);
  });

  it('shows CrashLoopBackOff with restarts and the time of the last one', () => {
    const row = rowByColumn('v1', 'pods', waitingPod('CrashLoopBackOff', 4, 29));
    expect(row).toMatchObject({ Ready: '0/1', Status: 'CrashLoopBackOff', Restarts: '4 (29s ago)' });
  });

  it.each(['ContainerCreating', 'ErrImagePull', 'ImagePullBackOff'])(
    'shows the waiting reason %s',
    (reason) => {
      expect(rowByColumn('v1', 'pods', waitingPod(reason)).Status).toBe(reason);
    },
  );

  it('shows Terminating once a deletion timestamp is set on a live pod', () => {
    const pod = nginxPod('web-0', { metadata: { deletionTimestamp: ago(3) } });
    expect(rowByColumn('v1', 'pods', pod)).toMatchObject({ Ready: '1/1', Status: 'Terminating' });
  });

  it('keeps Completed for a finished pod being deleted and marks the row completed', () => {
    const pod = nginxPod('once', {
      metadata: { deletionTimestamp: ago(3) },
      status: {
        phase: 'Succeeded',
        containerStatuses: [
          {
            name: 'nginx',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0, reason: 'Completed' } },
          },
        ],
      },
    });
    const table = render('v1', 'pods', [pod]);
    expect(table.rows[0].cells[2]).toBe('Completed');
    expect(table.rows[0].conditions).toEqual([
      expect.objectContaining({ type: 'Completed', status: 'True', reason: 'Succeeded' }),
    ]);
  });

  it('reports an exit code when a container terminated without a reason', () => {
    const pod = nginxPod('x', {
      status: { containerStatuses: [{ name: 'nginx', state: { terminated: { exitCode: 137 } } }] },
    });
    expect(rowByColumn('v1', 'pods', pod).Status).toBe('ExitCode:137');
  });

  it('shows Init:0/1 while the first init container runs', () => {
    const pod = nginxPod('with-init', {
      status: {
        phase: 'Pending',
        conditions: [{ type: 'Initialized', status: 'False' }],
        initContainerStatuses: [{ name: 'migrate', ready: false, restartCount: 0, state: { running: {} } }],
        containerStatuses: [
          { name: 'nginx', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
        ],
      },
    });
    pod.spec.initContainers = [{ name: 'migrate', image: 'busybox' }];
    expect(rowByColumn('v1', 'pods', pod)).toMatchObject({ Ready: '0/1', Status: 'Init:0/1' });
  });

  it('shows Init:CrashLoopBackOff and counts init restarts while initializing', () => {
    const pod = nginxPod('with-init', {
      status: {
        phase: 'Pending',
        conditions: [{ type: 'Initialized', status: 'False' }],
        initContainerStatuses: [
          {
            name: 'migrate',
            restartCount: 2,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, finishedAt: ago(300) } },
          },
        ],
      },
    });
    pod.spec.initContainers = [{ name: 'migrate', image: 'busybox' }];
    expect(rowByColumn('v1', 'pods', pod)).toMatchObject({
      Status: 'Init:CrashLoopBackOff',
      Restarts: '2 (5m ago)',
    });
  });

  it('counts a started sidecar as a ready container', () => {
    const pod = nginxPod('with-sidecar', {
      status: {
        initContainerStatuses: [
          { name: 'proxy', ready: true, started: true, restartCount: 0, state: { running: {} } },
        ],
      },
    });
    pod.spec.initContainers = [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always' }];
    expect(rowByColumn('v1', 'pods', pod)).toMatchObject({ Ready: '2/2', Status: 'Running' });
  });

  it('shows Pending with <none> for an unscheduled pod', () => {
    const pod = nginxPod('pending', {
      status: { phase: 'Pending', podIP: undefined, podIPs: undefined, containerStatuses: [] },
    });
    delete pod.spec.nodeName;
    expect(rowByColumn('v1', 'pods', pod)).toMatchObject({
      Ready: '0/1',
      Status: 'Pending',
      IP: '<none>',
      Node: '<none>',
    });
  });

  it('counts satisfied readiness gates', () => {
    const pod = nginxPod('gated');
    pod.spec.readinessGates = [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }];
    pod.status.conditions.push({ type: 'example.com/lb', status: 'True' });
    expect(rowByColumn('v1', 'pods', pod)['Readiness Gates']).toBe('1/2');
  });
});
