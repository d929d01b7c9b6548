import type { ResourceStore } from '@kubetime/apiserver';
import {
  Clock,
  ControllerManager,
  startControllers,
  VirtualClock,
  WallClock,
  type KubeletOptions,
  type LoadBalancerPool,
  type NodePoolOptions,
} from '@kubetime/controllers';
import type { BranchInfo, EventStore } from '@kubetime/event-store';

export interface BranchControllersOptions {
  events: EventStore;
  resources: ResourceStore;
  nodes?: Partial<NodePoolOptions>;
  kubelet?: Partial<KubeletOptions>;
  caPem?: string;
  loadBalancerPool?: LoadBalancerPool;
  onError?: (branch: string, controller: string, key: string, error: unknown) => void;
}

/** The control plane of one branch: its manager and the clock it runs on. */
export interface RunningBranch {
  name: string;
  clockKind: 'wall' | 'virtual';
  clock: Clock;
  manager: ControllerManager;
  seed: string;
}

export interface StartOverrides {
  /** Re-executions pin the seed of the branch they reproduce, so pod names can match the recording. */
  seed?: string;
  /** Where a virtual clock starts; by default the time of the fork revision. */
  start?: Date;
}

/**
 * Runs a control plane on every branch but `main` (the server runs main's own): its own scheduler,
 * kubelets and simulated nodes, on a wall clock or on a virtual clock that only moves through
 * `clock.advance` / `clock.runUntil` / re-execution. Work on one branch's clock is serialized by
 * `exclusive`, so two requests never move the same virtual clock at once.
 */
export class BranchControllers {
  private readonly running = new Map<string, Promise<RunningBranch>>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: BranchControllersOptions) {}

  /** Starts controllers on every existing branch (server start). */
  async startAll(): Promise<void> {
    for (const info of await this.options.events.branches.list()) {
      if (info.name !== 'main') await this.start(info);
    }
  }

  /** Idempotent: a branch already running keeps its controllers. */
  start(info: BranchInfo, overrides: StartOverrides = {}): Promise<RunningBranch> {
    const existing = this.running.get(info.name);
    if (existing) return existing;
    const started = this.launch(info, overrides);
    this.running.set(info.name, started);
    // A failed start must not block a later attempt on the same name.
    started.catch(() => this.running.delete(info.name));
    return started;
  }

  get(name: string): Promise<RunningBranch> | undefined {
    return this.running.get(name);
  }

  /** Before a branch is deleted or reset: lets the reconcile in flight finish, then drops the timers. */
  async stop(name: string): Promise<void> {
    const running = this.running.get(name);
    if (!running) return;
    this.running.delete(name);
    const branch = await running.catch(() => undefined);
    await branch?.manager.stop();
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.running.keys()]) await this.stop(name);
  }

  /** Runs `work` after every earlier piece of work on the same branch has finished. */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(name, next);
    void next
      .finally(() => {
        if (this.locks.get(name) === next) this.locks.delete(name);
      })
      .catch(() => undefined);
    return next;
  }

  private async launch(info: BranchInfo, overrides: StartOverrides): Promise<RunningBranch> {
    const seed = overrides.seed ?? info.name;
    const clock =
      info.clock === 'virtual'
        ? new VirtualClock(overrides.start ?? (await this.forkTime(info)))
        : new WallClock();
    const manager = await startControllers({
      events: this.options.events,
      resources: this.options.resources,
      branch: info.name,
      clock,
      seed,
      nodes: this.options.nodes,
      kubelet: this.options.kubelet,
      caPem: this.options.caPem,
      loadBalancerPool: this.options.loadBalancerPool,
      onError: (controller, key, error) => this.options.onError?.(info.name, controller, key, error),
    });
    return { name: info.name, clockKind: info.clock, clock, manager, seed };
  }

  /**
   * A virtual branch starts at the moment it was forked from, so the same fork always starts at the
   * same instant and its timestamps read as a continuation of the recorded history.
   */
  private async forkTime(info: BranchInfo): Promise<Date> {
    const revision = info.forkRevision ?? info.headRevision;
    const [event] =
      revision > 0 ? await this.options.events.events(info.name, revision - 1, revision, 1) : [];
    return event?.recordedAt ?? new Date('2025-01-01T00:00:00Z');
  }
}
