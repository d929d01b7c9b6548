import { Errors, KubeObject, StatusError } from '@kubetime/api-machinery';

export interface LogRequest {
  container?: string;
  previous: boolean;
}

/**
 * Why a pod's log cannot be read, worded as a v1.32 cluster words it, or undefined when it can. The
 * apiserver picks and checks the container (every kind a pod has counts, init containers first, as
 * upstream lists them); the kubelet then refuses a container that never ran, and the apiserver relays
 * its sentence as a 400. A pod not bound to a node has no kubelet to ask and reads as empty.
 */
export function podLogRefusal(pod: KubeObject, request: LogRequest): StatusError | undefined {
  const podName = pod.metadata.name!;
  const spec = pod.spec ?? {};
  const named = (list: { name: string }[] | undefined) => (list ?? []).map((c) => c.name);
  const all = [...named(spec.initContainers), ...named(spec.containers), ...named(spec.ephemeralContainers)];
  let container = request.container;
  if (!container) {
    const regular = named(spec.containers);
    if (regular.length !== 1)
      return Errors.badRequest(
        `a container name must be specified for pod ${podName}, choose one of: [${all.join(' ')}]`,
      );
    container = regular[0];
  } else if (!all.includes(container)) {
    return Errors.badRequest(`container ${container} is not valid for pod ${podName}`);
  }
  if (!spec.nodeName) return undefined;
  const status = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ].find((s: { name: string }) => s.name === container);
  const subject = `container "${container}" in pod "${podName}"`;
  if (!status) return Errors.badRequest(`${subject} is not available`);
  const last = status.lastState?.terminated;
  const { waiting, running, terminated } = status.state ?? {};
  if (request.previous)
    return last?.containerID
      ? undefined
      : Errors.badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
  if (running) return undefined;
  if (terminated || last)
    return terminated?.containerID || last?.containerID
      ? undefined
      : Errors.badRequest(`${subject} is terminated`);
  if (waiting) {
    const reason: string = waiting.reason ?? '';
    if (reason === 'ErrImagePull')
      return Errors.badRequest(`${subject} is waiting to start: image can't be pulled`);
    if (reason === 'ImagePullBackOff')
      return Errors.badRequest(`${subject} is waiting to start: trying and failing to pull image`);
    return Errors.badRequest(`${subject} is waiting to start: ${reason}`);
  }
  return Errors.badRequest(`${subject} is waiting to start - no logs yet`);
}
