/** PodSpec validation, used for Pods and for every pod template inside a workload. */
import { Causes, FieldError, FieldPath, isEqual, nonNegative, oneOf } from '../field-errors';
import {
  dns1123LabelProblems,
  dns1123SubdomainProblems,
  portNameProblems,
  portNumberProblems,
  qualifiedNameProblems,
} from '../name-rules';
import { parseQuantity, QUANTITY_PATTERN } from '../quantity';
import { validateAnnotations, validateLabels } from './meta';

type Json = Record<string, any>;

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];
const TOLERATION_OPERATORS = ['Equal', 'Exists'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

function validateResources(resources: Json | undefined, path: FieldPath): Causes {
  const causes: Causes = [];
  const parsed: Record<'limits' | 'requests', Record<string, number>> = { limits: {}, requests: {} };
  for (const kind of ['limits', 'requests'] as const) {
    for (const [name, raw] of Object.entries(resources?.[kind] ?? {})) {
      const at = path.child(kind).key(name);
      const value = parseQuantity(raw);
      if (value === undefined) {
        causes.push(
          FieldError.invalid(at, raw, `quantities must match the regular expression '${QUANTITY_PATTERN}'`),
        );
      } else if (value < 0) {
        causes.push(FieldError.invalid(at, String(raw), 'must be greater than or equal to 0'));
      } else {
        parsed[kind][name] = value;
      }
    }
  }
  for (const [name, request] of Object.entries(parsed.requests)) {
    const limit = parsed.limits[name];
    if (limit !== undefined && request > limit) {
      causes.push(
        FieldError.invalid(
          path.child('requests').key(name),
          String(resources!.requests[name]),
          `must be less than or equal to ${name} limit of ${resources!.limits[name]}`,
        ),
      );
    }
  }
  return causes;
}

const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];

function validateProbe(probe: Json | undefined, path: FieldPath, successMustBeOne: boolean): Causes {
  if (!probe) return [];
  const handlers = PROBE_HANDLERS.filter((h) => probe[h] !== undefined && probe[h] !== null);
  const causes: Causes = [];
  if (handlers.length === 0) causes.push(FieldError.required(path, 'must specify a handler type'));
  else if (handlers.length > 1)
    causes.push(FieldError.forbidden(path.child(handlers[1]), 'may not specify more than 1 handler type'));
  for (const field of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
  ]) {
    causes.push(...nonNegative(probe[field], path.child(field)));
  }
  if (successMustBeOne && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    causes.push(FieldError.invalid(path.child('successThreshold'), probe.successThreshold, 'must be 1'));
  }
  return causes;
}

function validatePorts(ports: Json[] | undefined, path: FieldPath): Causes {
  const causes: Causes = [];
  const names = new Set<string>();
  (ports ?? []).forEach((port, i) => {
    const at = path.index(i);
    if (port.name) {
      for (const problem of portNameProblems(port.name))
        causes.push(FieldError.invalid(at.child('name'), port.name, problem));
      if (names.has(port.name)) causes.push(FieldError.duplicate(at.child('name'), port.name));
      names.add(port.name);
    }
    if (!port.containerPort) causes.push(FieldError.required(at.child('containerPort')));
    else
      for (const problem of portNumberProblems(port.containerPort))
        causes.push(FieldError.invalid(at.child('containerPort'), port.containerPort, problem));
    if (port.hostPort) {
      for (const problem of portNumberProblems(port.hostPort))
        causes.push(FieldError.invalid(at.child('hostPort'), port.hostPort, problem));
    }
    if (!port.protocol) causes.push(FieldError.required(at.child('protocol')));
    else causes.push(...oneOf(port.protocol, at.child('protocol'), PROTOCOLS));
  });
  return causes;
}

function validateContainer(
  container: Json,
  path: FieldPath,
  volumeNames: Set<string>,
  regular: boolean,
): Causes {
  const causes: Causes = [];
  if (!container.name) causes.push(FieldError.required(path.child('name')));
  else
    for (const problem of dns1123LabelProblems(container.name))
      causes.push(FieldError.invalid(path.child('name'), container.name, problem));
  if (!container.image) causes.push(FieldError.required(path.child('image')));
  else if (container.image.trim() !== container.image) {
    causes.push(
      FieldError.invalid(
        path.child('image'),
        container.image,
        'must not have leading or trailing whitespace',
      ),
    );
  }
  causes.push(...oneOf(container.imagePullPolicy, path.child('imagePullPolicy'), PULL_POLICIES));
  causes.push(
    ...oneOf(
      container.terminationMessagePolicy,
      path.child('terminationMessagePolicy'),
      TERMINATION_MESSAGE_POLICIES,
    ),
  );
  causes.push(...validatePorts(container.ports, path.child('ports')));
  (container.env ?? []).forEach((env: Json, i: number) => {
    const at = path.child('env').index(i);
    if (!env.name) causes.push(FieldError.required(at.child('name')));
    else if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(env.name)) {
      causes.push(
        FieldError.invalid(
          at.child('name'),
          env.name,
          "a valid environment variable name must consist only of printable ASCII characters other than '='",
        ),
      );
    }
  });
  (container.volumeMounts ?? []).forEach((mount: Json, i: number) => {
    const at = path.child('volumeMounts').index(i);
    if (!mount.name) causes.push(FieldError.required(at.child('name')));
    else if (!volumeNames.has(mount.name)) causes.push(FieldError.notFound(at.child('name'), mount.name));
    if (!mount.mountPath) causes.push(FieldError.required(at.child('mountPath')));
  });
  causes.push(...validateResources(container.resources, path.child('resources')));
  // Only regular containers may have readiness; liveness and startup must succeed exactly once.
  causes.push(...validateProbe(container.livenessProbe, path.child('livenessProbe'), true));
  causes.push(...validateProbe(container.startupProbe, path.child('startupProbe'), true));
  if (regular) causes.push(...validateProbe(container.readinessProbe, path.child('readinessProbe'), false));
  return causes;
}

function validateVolumes(
  volumes: Json[] | undefined,
  path: FieldPath,
): { causes: Causes; names: Set<string> } {
  const causes: Causes = [];
  const names = new Set<string>();
  (volumes ?? []).forEach((volume, i) => {
    const at = path.index(i).child('name');
    if (!volume.name) causes.push(FieldError.required(at));
    else
      for (const problem of dns1123LabelProblems(volume.name))
        causes.push(FieldError.invalid(at, volume.name, problem));
    if (volume.name && names.has(volume.name)) causes.push(FieldError.duplicate(at, volume.name));
    if (volume.name) names.add(volume.name);
  });
  return { causes, names };
}

function validateTolerations(tolerations: Json[] | undefined, path: FieldPath): Causes {
  const causes: Causes = [];
  (tolerations ?? []).forEach((toleration, i) => {
    const at = path.index(i);
    if (toleration.key) {
      for (const problem of qualifiedNameProblems(toleration.key))
        causes.push(FieldError.invalid(at.child('key'), toleration.key, problem));
    }
    causes.push(...oneOf(toleration.operator, at.child('operator'), TOLERATION_OPERATORS));
    if (toleration.operator === 'Exists' && toleration.value) {
      causes.push(
        FieldError.invalid(
          at.child('operator'),
          toleration,
          "value must be empty when `operator` is 'Exists'",
        ),
      );
    }
    if (toleration.effect) causes.push(...oneOf(toleration.effect, at.child('effect'), TAINT_EFFECTS));
    if (toleration.tolerationSeconds !== undefined && toleration.effect !== 'NoExecute') {
      causes.push(
        FieldError.invalid(
          at.child('effect'),
          toleration.effect ?? '',
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      );
    }
  });
  return causes;
}

export interface PodSpecRules {
  /** Names that satisfy volumeMounts besides spec.volumes: a StatefulSet's claim templates. */
  extraVolumeNames?: string[];
}

export function validatePodSpec(spec: Json | undefined, path: FieldPath, rules: PodSpecRules = {}): Causes {
  const podSpec = spec ?? {};
  const volumes = validateVolumes(podSpec.volumes, path.child('volumes'));
  const volumeNames = new Set([...volumes.names, ...(rules.extraVolumeNames ?? [])]);
  const causes: Causes = [...volumes.causes];
  const containerNames = new Set<string>();
  const hostPorts = new Set<string>();
  const checkContainers = (list: string, regular: boolean) => {
    (podSpec[list] ?? []).forEach((container: Json, i: number) => {
      const at = path.child(list).index(i);
      causes.push(...validateContainer(container, at, volumeNames, regular));
      if (container.name && containerNames.has(container.name))
        causes.push(FieldError.duplicate(at.child('name'), container.name));
      if (container.name) containerNames.add(container.name);
      (container.ports ?? []).forEach((port: Json, p: number) => {
        if (!port.hostPort) return;
        const key = `${port.hostIP ?? ''}/${port.protocol ?? 'TCP'}/${port.hostPort}`;
        if (hostPorts.has(key))
          causes.push(FieldError.duplicate(at.child('ports').index(p).child('hostPort'), key));
        hostPorts.add(key);
      });
    });
  };
  if (!Array.isArray(podSpec.containers) || podSpec.containers.length === 0) {
    causes.push(FieldError.required(path.child('containers')));
  }
  checkContainers('containers', true);
  checkContainers('initContainers', false);
  causes.push(...oneOf(podSpec.restartPolicy, path.child('restartPolicy'), RESTART_POLICIES));
  causes.push(...oneOf(podSpec.dnsPolicy, path.child('dnsPolicy'), DNS_POLICIES));
  causes.push(...validateLabels(podSpec.nodeSelector, path.child('nodeSelector')));
  if (podSpec.serviceAccountName) {
    for (const problem of dns1123SubdomainProblems(podSpec.serviceAccountName)) {
      causes.push(FieldError.invalid(path.child('serviceAccountName'), podSpec.serviceAccountName, problem));
    }
  }
  if (podSpec.activeDeadlineSeconds !== undefined && !(podSpec.activeDeadlineSeconds > 0)) {
    causes.push(
      FieldError.invalid(
        path.child('activeDeadlineSeconds'),
        podSpec.activeDeadlineSeconds,
        'must be between 1 and 2147483647, inclusive',
      ),
    );
  }
  causes.push(...validateTolerations(podSpec.tolerations, path.child('tolerations')));
  return causes;
}

export function validatePodTemplate(
  template: Json | undefined,
  path: FieldPath,
  rules: PodSpecRules = {},
): Causes {
  if (!template) return [FieldError.required(path)];
  return [
    ...validateLabels(template.metadata?.labels, path.child('metadata', 'labels')),
    ...validateAnnotations(template.metadata?.annotations, path.child('metadata', 'annotations')),
    ...validatePodSpec(template.spec, path.child('spec'), rules),
  ];
}

/** What a running pod may still change: images, deadlines, added tolerations, a grace period. */
function withoutMutablePodFields(spec: Json | undefined): Json {
  const copy = structuredClone(spec ?? {});
  for (const list of ['containers', 'initContainers']) {
    for (const container of copy[list] ?? []) delete container.image;
  }
  delete copy.activeDeadlineSeconds;
  delete copy.tolerations;
  delete copy.terminationGracePeriodSeconds;
  return copy;
}

const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

export function validatePodUpdate(pod: Json, old: Json): Causes {
  const causes: Causes = [];
  if (!isEqual(withoutMutablePodFields(pod.spec), withoutMutablePodFields(old.spec))) {
    causes.push(FieldError.forbidden('spec', POD_UPDATE_FORBIDDEN));
  }
  const oldTolerations: Json[] = old.spec?.tolerations ?? [];
  const newTolerations: Json[] = pod.spec?.tolerations ?? [];
  if (!oldTolerations.every((t) => newTolerations.some((n) => isEqual(n, t)))) {
    causes.push(
      FieldError.forbidden(
        'spec.tolerations',
        'existing toleration can not be modified except its tolerationSeconds',
      ),
    );
  }
  return causes;
}
