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
  type ProgressStore,
} from '@kubetime/controllers';
import { UnknownBranch, type BranchInfo, type EventStore } from '@kubetime/event-store';

export interface BranchControllersOptions {
  events: EventStore;
  resources: ResourceStore;
  nodes?: Partial<NodePoolOptions>;
  kubelet?: Partial<KubeletOptions>;
  caPem?: string;
  loadBalancerPool?: LoadBalancerPool;
  onError?: (branch: string, controller: string, key: string, error: unknown) => void;
  /** Each controller's processed revision per branch, to resume from after a restart. */
  progress?: ProgressStore;
  onNotice?: (message: string, details: Record<string, unknown>) => void;
  /**
   * False while another process holds the controller-manager Lease: branches then run no
   * controllers here until `lead()`.
   */
  leading?: boolean;
}

/** The control plane of one branch: its manager and the clock it runs on. */
export interface RunningBranch {
  name: string;
  /** A reset branch keeps its name under a new id. */
  id: number;
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
  private syncing?: Promise<void>;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly ids = new Map<string, number>();
  private leading: boolean;
  /** The leader term this process runs the branches in: a start still catching up when it ends is abandoned. */
  private term?: AbortSignal;

  constructor(private readonly options: BranchControllersOptions) {
    this.leading = options.leading ?? true;
  }

  /** Whether this process runs the branches' controllers (it holds the Lease, or elects none). */
  get active(): boolean {
    return this.leading;
  }

  /**
   * This process took the Lease: every branch's control plane starts here. Once `term` aborts, a start
   * still catching up fails with StartAborted and so does this call, so a process that lost the Lease
   * hands over without first catching up on every branch's log.
   */
  async lead(term?: AbortSignal): Promise<void> {
    this.leading = true;
    this.term = term;
    await this.sync();
  }

  /** This process lost or gave up the Lease: every branch's control plane stops here. */
  async standby(): Promise<void> {
    this.leading = false;
    this.term = undefined;
    // A sync still running could start a branch after the stop below: let it finish first.
    await this.syncing?.catch(() => undefined);
    await this.stopAll();
  }

  /**
   * Brings the running set in line with the catalog: branches created, reset or deleted through
   * another server process on the same database start or stop here too.
   */
  sync(): Promise<void> {
    // One at a time: two overlapping syncs could both launch a reset branch and orphan a manager.
    this.syncing ??= this.syncOnce().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (!this.leading) return;
    const listed = (await this.options.events.branches.list()).filter((info) => info.name !== 'main');
    const live = new Map(listed.map((info) => [info.name, info.id]));
    for (const [name, id] of [...this.ids]) {
      // The list may predate a branch this process forked meanwhile: ask again before stopping it.
      if (live.get(name) !== id && (await this.currentId(name)) !== id) await this.stop(name);
    }
    for (const info of listed) if (this.leading) await this.start(info);
  }

  /** Starts controllers on every existing branch (server start). */
  async startAll(): Promise<void> {
    await this.sync();
  }

  /** Idempotent: a branch already running keeps its controllers. */
  async start(info: BranchInfo, overrides: StartOverrides = {}): Promise<RunningBranch> {
    if (!this.leading)
      throw new Error(`branch "${info.name}": this process does not hold the controller Lease`);
    const existing = this.running.get(info.name);
    if (existing && this.ids.get(info.name) === info.id) return existing;
    if (existing) await this.stop(info.name);
    if (!this.leading)
      throw new Error(`branch "${info.name}": this process gave up the controller Lease while it restarted`);
    const started = this.launch(info, overrides);
    this.running.set(info.name, started);
    this.ids.set(info.name, info.id);
    // A failed start must not block a later attempt on the same name.
    started.catch(() => {
      if (this.running.get(info.name) !== started) return;
      this.running.delete(info.name);
      this.ids.delete(info.name);
    });
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
    this.ids.delete(name);
    const branch = await running.catch(() => undefined);
    await branch?.manager.stop();
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.running.keys()]) await this.stop(name);
  }

  private async currentId(name: string): Promise<number | undefined> {
    try {
      return (await this.options.events.branches.get(name)).id;
    } catch (error) {
      if (error instanceof UnknownBranch) return undefined;
      throw error;
    }
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
      progress: this.options.progress,
      onNotice: this.options.onNotice,
      signal: this.term,
    });
    return { name: info.name, id: info.id, clockKind: info.clock, clock, manager, seed };
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
