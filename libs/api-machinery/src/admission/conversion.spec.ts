import { KubeObject } from '../object';
import { convert, HPA_ANNOTATIONS } from './conversion';

const hpaV2: KubeObject = {
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', namespace: 'default', annotations: { owner: 'team-a' } },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
    minReplicas: 2,
    maxReplicas: 10,
    metrics: [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
      },
      {
        type: 'Resource',
        resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '500Mi' } },
      },
      {
        type: 'Pods',
        pods: { metric: { name: 'rps' }, target: { type: 'AverageValue', averageValue: '10' } },
      },
      {
        type: 'Object',
        object: {
          describedObject: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'main' },
          metric: { name: 'hits' },
          target: { type: 'Value', value: '2k' },
        },
      },
      {
        type: 'External',
        external: { metric: { name: 'queue' }, target: { type: 'AverageValue', averageValue: '30' } },
      },
    ],
    behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
  },
  status: {
    currentReplicas: 3,
    desiredReplicas: 3,
    currentMetrics: [
      {
        type: 'Resource',
        resource: { name: 'cpu', current: { averageUtilization: 42, averageValue: '210m' } },
      },
      { type: 'Pods', pods: { metric: { name: 'rps' }, current: { averageValue: '7' } } },
    ],
    conditions: [{ type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale' }],
  },
};

describe('convert HorizontalPodAutoscaler', () => {
  it('shows the CPU target in v1 and keeps the rest in annotations', () => {
    const v1 = convert(hpaV2, 'autoscaling/v1');
    expect(v1.apiVersion).toBe('autoscaling/v1');
    expect(v1.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 2,
      maxReplicas: 10,
      targetCPUUtilizationPercentage: 50,
    });
    expect(v1.status).toEqual({
      currentReplicas: 3,
      desiredReplicas: 3,
      currentCPUUtilizationPercentage: 42,
    });
    const annotations = v1.metadata.annotations!;
    expect(annotations.owner).toBe('team-a');
    expect(JSON.parse(annotations[HPA_ANNOTATIONS.metrics])).toEqual([
      { type: 'Resource', resource: { name: 'memory', targetAverageValue: '500Mi' } },
      { type: 'Pods', pods: { metricName: 'rps', targetAverageValue: '10' } },
      {
        type: 'Object',
        object: {
          target: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'main' },
          metricName: 'hits',
          targetValue: '2k',
        },
      },
      { type: 'External', external: { metricName: 'queue', targetAverageValue: '30' } },
    ]);
    expect(JSON.parse(annotations[HPA_ANNOTATIONS.conditions])).toEqual(hpaV2.status.conditions);
  });

  it('round-trips v2 -> v1 -> v2 without loss', () => {
    const back = convert(convert(hpaV2, 'autoscaling/v1'), 'autoscaling/v2');
    expect(back.spec).toEqual(hpaV2.spec);
    expect(back.metadata).toEqual(hpaV2.metadata);
    expect(back.status.conditions).toEqual(hpaV2.status.conditions);
    expect(back.status.currentMetrics[1]).toEqual(hpaV2.status.currentMetrics[1]);
    expect(back.status.currentMetrics[0]).toEqual({
      type: 'Resource',
      resource: { name: 'cpu', current: { averageUtilization: 42 } },
    });
  });

  it('round-trips a plain v1 object', () => {
    const v1: KubeObject = {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'php-apache' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'php-apache' },
        minReplicas: 1,
        maxReplicas: 10,
        targetCPUUtilizationPercentage: 50,
      },
    };
    const v2 = convert(v1, 'autoscaling/v2');
    expect(v2.metadata).toEqual({ name: 'php-apache' });
    expect(v2.spec.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
      },
    ]);
    expect(convert(v2, 'autoscaling/v1')).toEqual(v1);
  });

  it('does not touch its input', () => {
    const snapshot = structuredClone(hpaV2);
    convert(hpaV2, 'autoscaling/v1');
    expect(hpaV2).toEqual(snapshot);
  });
});

describe('convert Event', () => {
  const coreEvent: KubeObject = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web.17a', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u1', apiVersion: 'v1' },
    reason: 'Pulled',
    message: 'Successfully pulled image "nginx"',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: '2025-10-10T03:38:38Z',
    lastTimestamp: '2025-10-10T03:39:38Z',
    count: 2,
    type: 'Normal',
    eventTime: null,
    reportingComponent: 'kubelet',
    reportingInstance: 'node-1',
    action: 'Pull',
    related: { kind: 'Node', name: 'node-1' },
    series: { count: 2, lastObservedTime: '2025-10-10T03:39:38.000000Z' },
  };

  it('renames fields for events.k8s.io/v1', () => {
    const event = convert(coreEvent, 'events.k8s.io/v1');
    expect(event).toEqual({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: coreEvent.metadata,
      regarding: coreEvent.involvedObject,
      reason: 'Pulled',
      note: coreEvent.message,
      deprecatedSource: coreEvent.source,
      deprecatedFirstTimestamp: coreEvent.firstTimestamp,
      deprecatedLastTimestamp: coreEvent.lastTimestamp,
      deprecatedCount: 2,
      type: 'Normal',
      eventTime: null,
      reportingController: 'kubelet',
      reportingInstance: 'node-1',
      action: 'Pull',
      related: coreEvent.related,
      series: coreEvent.series,
    });
  });

  it('round-trips both ways', () => {
    expect(convert(convert(coreEvent, 'events.k8s.io/v1'), 'v1')).toEqual(coreEvent);
  });
});

describe('convert other kinds', () => {
  it('is the identity when the version already matches', () => {
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } };
    const out = convert(cm, 'v1');
    expect(out).toEqual(cm);
    expect(out).not.toBe(cm);
  });
});
