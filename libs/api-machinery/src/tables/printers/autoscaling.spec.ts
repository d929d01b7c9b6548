import { KubeObject } from '../../object';
import { ago, rowByColumn } from '../spec-fixtures';

describe('autoscaler table', () => {
  it('prints an autoscaling/v2 HPA with resource targets', () => {
    const hpa: KubeObject = {
      metadata: { name: 'web', creationTimestamp: ago(120) },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 1,
        maxReplicas: 10,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
          {
            type: 'Resource',
            resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } },
          },
          {
            type: 'Pods',
            pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '1k' } },
          },
        ],
      },
      status: {
        currentReplicas: 2,
        currentMetrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', current: { averageUtilization: 23, averageValue: '23m' } },
          },
        ],
      },
    };
    expect(rowByColumn('autoscaling/v2', 'horizontalpodautoscalers', hpa)).toEqual({
      Name: 'web',
      Reference: 'Deployment/web',
      Targets: 'cpu: 23%/50%, memory: <unknown>/100Mi + 1 more...',
      MinPods: '1',
      MaxPods: 10,
      Replicas: 2,
      Age: '2m',
    });
  });

  it('reads the CPU target of an autoscaling/v1 HPA', () => {
    const hpa: KubeObject = {
      metadata: { name: 'web', creationTimestamp: ago(120) },
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'web' },
        maxReplicas: 5,
        targetCPUUtilizationPercentage: 80,
      },
      status: { currentReplicas: 1 },
    };
    expect(rowByColumn('autoscaling/v1', 'horizontalpodautoscalers', hpa)).toMatchObject({
      Targets: 'cpu: <unknown>/80%',
      MinPods: '<unset>',
      MaxPods: 5,
    });
  });
});
