/**
 * Conversion between API views that share one storage: autoscaling v1/v2 HPAs and the core
 * and events.k8s.io Events. What the older HPA view cannot express travels in the
 * `autoscaling.alpha.kubernetes.io/*` annotations, as upstream does, so v2 -> v1 -> v2 loses nothing.
 */
import { deepClone, KubeObject } from '../object';

type Json = Record<string, any>;

const HPA_V1 = 'autoscaling/v1';
const HPA_V2 = 'autoscaling/v2';
const CORE_EVENT = 'v1';
const EVENTS_EVENT = 'events.k8s.io/v1';

export const HPA_ANNOTATIONS = {
  metrics: 'autoscaling.alpha.kubernetes.io/metrics',
  currentMetrics: 'autoscaling.alpha.kubernetes.io/current-metrics',
  conditions: 'autoscaling.alpha.kubernetes.io/conditions',
  behavior: 'autoscaling.alpha.kubernetes.io/behavior',
} as const;

function compact<T extends Json>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/* v1 keeps extra metrics in the flat shape of autoscaling/v2beta1 (targetAverageValue, ...). */

function metricSpecToV1(metric: Json): Json {
  switch (metric.type) {
    case 'Resource':
      return {
        type: 'Resource',
        resource: compact({
          name: metric.resource.name,
          targetAverageUtilization: metric.resource.target?.averageUtilization,
          targetAverageValue: metric.resource.target?.averageValue,
        }),
      };
    case 'ContainerResource':
      return {
        type: 'ContainerResource',
        containerResource: compact({
          name: metric.containerResource.name,
          container: metric.containerResource.container,
          targetAverageUtilization: metric.containerResource.target?.averageUtilization,
          targetAverageValue: metric.containerResource.target?.averageValue,
        }),
      };
    case 'Pods':
      return {
        type: 'Pods',
        pods: compact({
          metricName: metric.pods.metric?.name,
          selector: metric.pods.metric?.selector,
          targetAverageValue: metric.pods.target?.averageValue,
        }),
      };
    case 'Object':
      return {
        type: 'Object',
        object: compact({
          target: metric.object.describedObject,
          metricName: metric.object.metric?.name,
          selector: metric.object.metric?.selector,
          targetValue: metric.object.target?.value,
          averageValue: metric.object.target?.averageValue,
        }),
      };
    case 'External':
      return {
        type: 'External',
        external: compact({
          metricName: metric.external.metric?.name,
          metricSelector: metric.external.metric?.selector,
          targetValue: metric.external.target?.value,
          targetAverageValue: metric.external.target?.averageValue,
        }),
      };
    default:
      return metric;
  }
}

function target(utilization: unknown, averageValue: unknown, value?: unknown): Json {
  if (utilization !== undefined) return { type: 'Utilization', averageUtilization: utilization };
  if (averageValue !== undefined) return { type: 'AverageValue', averageValue };
  return { type: 'Value', value };
}

function metricSpecToV2(metric: Json): Json {
  switch (metric.type) {
    case 'Resource':
      return {
        type: 'Resource',
        resource: {
          name: metric.resource.name,
          target: target(metric.resource.targetAverageUtilization, metric.resource.targetAverageValue),
        },
      };
    case 'ContainerResource':
      return {
        type: 'ContainerResource',
        containerResource: {
          name: metric.containerResource.name,
          container: metric.containerResource.container,
          target: target(
            metric.containerResource.targetAverageUtilization,
            metric.containerResource.targetAverageValue,
          ),
        },
      };
    case 'Pods':
      return {
        type: 'Pods',
        pods: {
          metric: compact({ name: metric.pods.metricName, selector: metric.pods.selector }),
          target: { type: 'AverageValue', averageValue: metric.pods.targetAverageValue },
        },
      };
    case 'Object':
      return {
        type: 'Object',
        object: {
          describedObject: metric.object.target,
          metric: compact({ name: metric.object.metricName, selector: metric.object.selector }),
          target:
            metric.object.averageValue !== undefined
              ? { type: 'AverageValue', averageValue: metric.object.averageValue }
              : { type: 'Value', value: metric.object.targetValue },
        },
      };
    case 'External':
      return {
        type: 'External',
        external: {
          metric: compact({ name: metric.external.metricName, selector: metric.external.metricSelector }),
          target: target(undefined, metric.external.targetAverageValue, metric.external.targetValue),
        },
      };
    default:
      return metric;
  }
}

function metricStatusToV1(status: Json): Json {
  switch (status.type) {
    case 'Resource':
      return {
        type: 'Resource',
        resource: compact({
          name: status.resource.name,
          currentAverageUtilization: status.resource.current?.averageUtilization,
          currentAverageValue: status.resource.current?.averageValue,
        }),
      };
    case 'ContainerResource':
      return {
        type: 'ContainerResource',
        containerResource: compact({
          name: status.containerResource.name,
          container: status.containerResource.container,
          currentAverageUtilization: status.containerResource.current?.averageUtilization,
          currentAverageValue: status.containerResource.current?.averageValue,
        }),
      };
    case 'Pods':
      return {
        type: 'Pods',
        pods: compact({
          metricName: status.pods.metric?.name,
          selector: status.pods.metric?.selector,
          currentAverageValue: status.pods.current?.averageValue,
        }),
      };
    case 'Object':
      return {
        type: 'Object',
        object: compact({
          target: status.object.describedObject,
          metricName: status.object.metric?.name,
          selector: status.object.metric?.selector,
          currentValue: status.object.current?.value,
          averageValue: status.object.current?.averageValue,
        }),
      };
    case 'External':
      return {
        type: 'External',
        external: compact({
          metricName: status.external.metric?.name,
          metricSelector: status.external.metric?.selector,
          currentValue: status.external.current?.value,
          currentAverageValue: status.external.current?.averageValue,
        }),
      };
    default:
      return status;
  }
}

function metricStatusToV2(status: Json): Json {
  switch (status.type) {
    case 'Resource':
      return {
        type: 'Resource',
        resource: {
          name: status.resource.name,
          current: compact({
            averageUtilization: status.resource.currentAverageUtilization,
            averageValue: status.resource.currentAverageValue,
          }),
        },
      };
    case 'ContainerResource':
      return {
        type: 'ContainerResource',
        containerResource: {
          name: status.containerResource.name,
          container: status.containerResource.container,
          current: compact({
            averageUtilization: status.containerResource.currentAverageUtilization,
            averageValue: status.containerResource.currentAverageValue,
          }),
        },
      };
    case 'Pods':
      return {
        type: 'Pods',
        pods: {
          metric: compact({ name: status.pods.metricName, selector: status.pods.selector }),
          current: { averageValue: status.pods.currentAverageValue },
        },
      };
    case 'Object':
      return {
        type: 'Object',
        object: {
          describedObject: status.object.target,
          metric: compact({ name: status.object.metricName, selector: status.object.selector }),
          current: compact({ value: status.object.currentValue, averageValue: status.object.averageValue }),
        },
      };
    case 'External':
      return {
        type: 'External',
        external: {
          metric: compact({ name: status.external.metricName, selector: status.external.metricSelector }),
          current: compact({
            value: status.external.currentValue,
            averageValue: status.external.currentAverageValue,
          }),
        },
      };
    default:
      return status;
  }
}

const isCpuUtilization = (metric: Json) =>
  metric.type === 'Resource' &&
  metric.resource?.name === 'cpu' &&
  metric.resource?.target?.type === 'Utilization';
const isCpuUtilizationStatus = (status: Json) =>
  status.type === 'Resource' &&
  status.resource?.name === 'cpu' &&
  status.resource?.current?.averageUtilization !== undefined;

function hpaToV1(hpa: Json): Json {
  const { spec = {}, status } = hpa;
  const annotations: Json = { ...hpa.metadata.annotations };
  const metrics: Json[] = spec.metrics ?? [];
  const cpu = metrics.find(isCpuUtilization);
  const otherMetrics = metrics.filter((m) => m !== cpu);
  if (otherMetrics.length)
    annotations[HPA_ANNOTATIONS.metrics] = JSON.stringify(otherMetrics.map(metricSpecToV1));
  if (spec.behavior) annotations[HPA_ANNOTATIONS.behavior] = JSON.stringify(spec.behavior);
  const out: Json = {
    ...hpa,
    apiVersion: HPA_V1,
    spec: compact({
      scaleTargetRef: spec.scaleTargetRef,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      targetCPUUtilizationPercentage: cpu?.resource.target.averageUtilization,
    }),
  };
  if (status) {
    const current: Json[] = status.currentMetrics ?? [];
    const cpuStatus = current.find(isCpuUtilizationStatus);
    const otherStatus = current.filter((m) => m !== cpuStatus);
    if (otherStatus.length)
      annotations[HPA_ANNOTATIONS.currentMetrics] = JSON.stringify(otherStatus.map(metricStatusToV1));
    if (status.conditions?.length)
      annotations[HPA_ANNOTATIONS.conditions] = JSON.stringify(status.conditions);
    out.status = compact({
      observedGeneration: status.observedGeneration,
      lastScaleTime: status.lastScaleTime,
      currentReplicas: status.currentReplicas,
      desiredReplicas: status.desiredReplicas,
      currentCPUUtilizationPercentage: cpuStatus?.resource.current.averageUtilization,
    });
  }
  out.metadata = { ...hpa.metadata };
  if (Object.keys(annotations).length) out.metadata.annotations = annotations;
  return out;
}

function takeJsonAnnotation(annotations: Json, key: string): any {
  const raw = annotations[key];
  delete annotations[key];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    // A hand-edited annotation that is not JSON carries nothing we can restore.
    return undefined;
  }
}

function hpaToV2(hpa: Json): Json {
  const { spec = {}, status } = hpa;
  const annotations: Json = { ...hpa.metadata.annotations };
  const metrics: Json[] = [];
  if (spec.targetCPUUtilizationPercentage !== undefined) {
    metrics.push({
      type: 'Resource',
      resource: {
        name: 'cpu',
        target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage },
      },
    });
  }
  metrics.push(...(takeJsonAnnotation(annotations, HPA_ANNOTATIONS.metrics) ?? []).map(metricSpecToV2));
  const behavior = takeJsonAnnotation(annotations, HPA_ANNOTATIONS.behavior);
  const currentMetricsFromAnnotation: Json[] = (
    takeJsonAnnotation(annotations, HPA_ANNOTATIONS.currentMetrics) ?? []
  ).map(metricStatusToV2);
  const conditions = takeJsonAnnotation(annotations, HPA_ANNOTATIONS.conditions);
  const out: Json = {
    ...hpa,
    apiVersion: HPA_V2,
    spec: compact({
      scaleTargetRef: spec.scaleTargetRef,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      metrics: metrics.length ? metrics : undefined,
      behavior,
    }),
  };
  if (status) {
    const currentMetrics: Json[] = [];
    if (status.currentCPUUtilizationPercentage !== undefined) {
      currentMetrics.push({
        type: 'Resource',
        resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } },
      });
    }
    currentMetrics.push(...currentMetricsFromAnnotation);
    out.status = compact({
      observedGeneration: status.observedGeneration,
      lastScaleTime: status.lastScaleTime,
      currentReplicas: status.currentReplicas,
      desiredReplicas: status.desiredReplicas,
      currentMetrics: currentMetrics.length ? currentMetrics : undefined,
      conditions,
    });
  }
  out.metadata = { ...hpa.metadata, annotations };
  if (Object.keys(annotations).length === 0) delete out.metadata.annotations;
  return out;
}

/** core/v1 field name -> events.k8s.io/v1 field name, for the fields that were renamed. */
const EVENT_RENAMES: [string, string][] = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
  ['reportingComponent', 'reportingController'],
];

function renameFields(event: Json, renames: [string, string][], apiVersion: string): Json {
  const out: Json = { ...event, apiVersion };
  for (const [from, to] of renames) {
    delete out[from];
    if (event[from] !== undefined) out[to] = event[from];
  }
  return out;
}

/** Returns a copy of `obj` as seen through `toApiVersion`. Kinds with a single view are copied unchanged apart from apiVersion. */
export function convert(obj: KubeObject, toApiVersion: string): KubeObject {
  const copy = deepClone(obj);
  const from = copy.apiVersion;
  if (from === toApiVersion) return copy;
  if (copy.kind === 'HorizontalPodAutoscaler') {
    if (from === HPA_V2 && toApiVersion === HPA_V1) return hpaToV1(copy) as KubeObject;
    if (from === HPA_V1 && toApiVersion === HPA_V2) return hpaToV2(copy) as KubeObject;
  }
  if (copy.kind === 'Event') {
    if (from === CORE_EVENT && toApiVersion === EVENTS_EVENT)
      return renameFields(copy, EVENT_RENAMES, EVENTS_EVENT) as KubeObject;
    if (from === EVENTS_EVENT && toApiVersion === CORE_EVENT) {
      const reversed = EVENT_RENAMES.map(([core, events]) => [events, core] as [string, string]);
      return renameFields(copy, reversed, CORE_EVENT) as KubeObject;
    }
  }
  copy.apiVersion = toApiVersion;
  return copy;
}
