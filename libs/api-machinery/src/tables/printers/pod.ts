import { KubeObject } from '../../object';
import { NONE, parseTime, since, sinceMillis } from '../format';
import { AGE_COLUMN, columns, NAME_COLUMN, Printer, PrinterRow, RowCondition } from '../printer';

interface ContainerState {
  waiting?: { reason?: string };
  running?: Record<string, unknown>;
  terminated?: { reason?: string; exitCode?: number; signal?: number; finishedAt?: string };
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

const COMPLETED_ROW: Record<string, RowCondition[]> = {
  Succeeded: [
    {
      type: 'Completed',
      status: 'True',
      reason: 'Succeeded',
      message: 'The pod has completed successfully.',
    },
  ],
  Failed: [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }],
};

/** The reason the node controller stamps on pods of a node that stopped reporting. */
const NODE_LOST = 'NodeLost';

/** Tracks the total restart count and the most recent restart across containers. */
class Restarts {
  count = 0;
  last: number | undefined;

  add(status: ContainerStatus): void {
    this.count += status.restartCount ?? 0;
    const finished = parseTime(status.lastState?.terminated?.finishedAt);
    if (finished !== undefined && (this.last === undefined || finished > this.last)) this.last = finished;
  }

  reset(from: Restarts): void {
    this.count = from.count;
    this.last = from.last;
  }
}

function terminatedReason(terminated: NonNullable<ContainerState['terminated']>, prefix: string): string {
  if (terminated.reason) return prefix + terminated.reason;
  return terminated.signal
    ? `${prefix}Signal:${terminated.signal}`
    : `${prefix}ExitCode:${terminated.exitCode ?? 0}`;
}

function podRow(pod: KubeObject, now: Date): PrinterRow {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const conditions: Condition[] = status.conditions ?? [];
  const initContainers: { name: string; restartPolicy?: string }[] = spec.initContainers ?? [];
  // Sidecars are init containers that keep running; they count as regular containers.
  const sidecars = new Set(initContainers.filter((c) => c.restartPolicy === 'Always').map((c) => c.name));

  const phase: string = status.phase ?? '';
  let reason: string = status.reason || phase;
  if (conditions.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated'))
    reason = 'SchedulingGated';

  const total = (spec.containers ?? []).length + sidecars.size;
  let ready = 0;
  const restarts = new Restarts();
  const sidecarRestarts = new Restarts();

  let initializing = false;
  const initStatuses: ContainerStatus[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const container = initStatuses[i];
    restarts.add(container);
    const isSidecar = sidecars.has(container.name);
    if (isSidecar) sidecarRestarts.add(container);

    const { terminated, waiting } = container.state ?? {};
    if (terminated && (terminated.exitCode ?? 0) === 0) continue;
    if (isSidecar && container.started) {
      if (container.ready) ready++;
      continue;
    }
    if (terminated) reason = terminatedReason(terminated, 'Init:');
    else if (waiting?.reason && waiting.reason !== 'PodInitializing') reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${initContainers.length}`;
    initializing = true;
    break;
  }

  const initialized = conditions.find((c) => c.type === 'Initialized')?.status === 'True';
  if (!initializing || initialized) {
    restarts.reset(sidecarRestarts);
    let hasRunning = false;
    const statuses: ContainerStatus[] = status.containerStatuses ?? [];
    // Walked backwards so the first container's trouble is the one that shows.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const container = statuses[i];
      restarts.add(container);
      const { waiting, terminated, running } = container.state ?? {};
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated) reason = terminatedReason(terminated, '');
      else if (container.ready && running) {
        hasRunning = true;
        ready++;
      }
    }
    // One container exiting cleanly while another still runs does not make the pod Completed.
    if (reason === 'Completed' && hasRunning) {
      reason = conditions.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }

  if (pod.metadata.deletionTimestamp && status.reason === NODE_LOST) reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed')
    reason = 'Terminating';

  const restartCell =
    restarts.count !== 0 && restarts.last !== undefined
      ? `${restarts.count} (${sinceMillis(restarts.last, now)} ago)`
      : String(restarts.count);

  const podIP: string = status.podIPs?.[0]?.ip || status.podIP || NONE;
  const readinessGates: { conditionType: string }[] = spec.readinessGates ?? [];
  const gates =
    readinessGates.length === 0
      ? NONE
      : `${readinessGates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length}/${readinessGates.length}`;

  return {
    cells: [
      pod.metadata.name ?? '',
      `${ready}/${total}`,
      reason,
      restartCell,
      since(pod.metadata.creationTimestamp, now),
      podIP,
      spec.nodeName || NONE,
      status.nominatedNodeName || NONE,
      gates,
    ],
    conditions: COMPLETED_ROW[phase],
  };
}

export const podPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Ready', 'string', 'Ready containers out of all containers of the pod.'],
    ['Status', 'string', 'Summary of the pod phase and its containers.'],
    ['Restarts', 'string', 'Container restarts, and how long ago the latest one was.'],
    AGE_COLUMN,
    ['IP', 'string', 'The pod IP address.', 'wide'],
    ['Node', 'string', 'Node the pod is bound to.', 'wide'],
    ['Nominated Node', 'string', 'Node the scheduler nominated while preempting.', 'wide'],
    ['Readiness Gates', 'string', 'Readiness gates that are satisfied out of all declared.', 'wide'],
  ),
  row: podRow,
};
