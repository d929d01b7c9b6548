import { KubeObject } from '../../object';
import { NONE, since, UNKNOWN, UNSET } from '../format';
import { AGE_COLUMN, columns, NAME_COLUMN, Printer } from '../printer';

interface MetricTarget {
  type?: string;
  value?: string;
  averageValue?: string;
  averageUtilization?: number;
}

interface MetricValue {
  value?: string;
  averageValue?: string;
  averageUtilization?: number;
}

interface MetricSpec {
  type: string;
  resource?: { name: string; target: MetricTarget };
  containerResource?: { name: string; target: MetricTarget };
  pods?: { target: MetricTarget };
  object?: { target: MetricTarget };
  external?: { target: MetricTarget };
}

interface MetricStatus {
  resource?: { current: MetricValue };
  containerResource?: { current: MetricValue };
  pods?: { current: MetricValue };
  object?: { current: MetricValue };
  external?: { current: MetricValue };
}

/** autoscaling/v1 only knows a CPU utilization target; seen as v2 it is one Resource metric. */
function metricsOf(hpa: KubeObject): { specs: MetricSpec[]; statuses: MetricStatus[] } {
  const spec = hpa.spec ?? {};
  const status = hpa.status ?? {};
  if (spec.metrics !== undefined || spec.targetCPUUtilizationPercentage === undefined) {
    return { specs: spec.metrics ?? [], statuses: status.currentMetrics ?? [] };
  }
  const current = status.currentCPUUtilizationPercentage;
  return {
    specs: [
      {
        type: 'Resource',
        resource: {
          name: 'cpu',
          target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage },
        },
      },
    ],
    statuses: current === undefined ? [] : [{ resource: { current: { averageUtilization: current } } }],
  };
}

const percent = (value: number | undefined): string | undefined =>
  value === undefined ? undefined : `${value}%`;

/** `current/target` of one metric; an average-value target gets ` (avg)` on object and external metrics. */
function formatMetric(spec: MetricSpec, status: MetricStatus | undefined): string {
  switch (spec.type) {
    case 'External':
    case 'Object': {
      const key = spec.type === 'External' ? 'external' : 'object';
      const target = spec[key]?.target ?? {};
      const current = status?.[key]?.current;
      if (target.averageValue !== undefined) {
        return `${current?.averageValue ?? UNKNOWN}/${target.averageValue} (avg)`;
      }
      return `${status?.[key] ? (current?.value ?? '0') : UNKNOWN}/${target.value ?? '0'}`;
    }
    case 'Pods':
      return `${status?.pods ? (status.pods.current?.averageValue ?? '0') : UNKNOWN}/${spec.pods?.target.averageValue ?? '0'}`;
    case 'Resource':
    case 'ContainerResource': {
      const key = spec.type === 'Resource' ? 'resource' : 'containerResource';
      const source = spec[key];
      const current = status?.[key]?.current;
      if (source?.target.averageValue !== undefined) {
        const value = status?.[key] ? (current?.averageValue ?? '0') : UNKNOWN;
        return `${source.name}: ${value}/${source.target.averageValue}`;
      }
      const target = percent(source?.target.averageUtilization) ?? '<auto>';
      return `${source?.name ?? ''}: ${percent(current?.averageUtilization) ?? UNKNOWN}/${target}`;
    }
    default:
      return '<unknown type>';
  }
}

function formatTargets(hpa: KubeObject): string {
  const { specs, statuses } = metricsOf(hpa);
  if (specs.length === 0) return NONE;
  const max = 2;
  const shown = specs.slice(0, max).map((spec, i) => formatMetric(spec, statuses[i]));
  return specs.length > max ? `${shown.join(', ')} + ${specs.length - max} more...` : shown.join(', ');
}

export const horizontalPodAutoscalerPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Reference', 'string', 'Kind/name of the scaled workload.'],
    ['Targets', 'string', 'Current value out of target for each metric.'],
    ['MinPods', 'string', 'Lower replica bound.'],
    ['MaxPods', 'string', 'Upper replica bound.'],
    ['Replicas', 'string', 'Replicas the autoscaler last saw.'],
    AGE_COLUMN,
  ),
  row(hpa, now) {
    const spec = hpa.spec ?? {};
    return {
      cells: [
        hpa.metadata.name ?? '',
        `${spec.scaleTargetRef?.kind ?? ''}/${spec.scaleTargetRef?.name ?? ''}`,
        formatTargets(hpa),
        spec.minReplicas === undefined || spec.minReplicas === null ? UNSET : String(spec.minReplicas),
        spec.maxReplicas ?? 0,
        hpa.status?.currentReplicas ?? 0,
        since(hpa.metadata.creationTimestamp, now),
      ],
    };
  },
};
