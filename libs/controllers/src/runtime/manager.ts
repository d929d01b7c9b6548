import { StatusError } from '@kubetime/api-machinery';
import type { RequestContext, ResourceStore, UserInfo } from '@kubetime/apiserver';
import type { BranchHead, EventStore, StoredEvent } from '@kubetime/event-store';
import type { Subscription } from 'rxjs';
import { ControllerApi, EventAggregator } from './api';
import { CacheChange, ObjectCache } from './cache';
import { Clock, VirtualClock } from './clock';
import { Random, seededRandom } from './random';
import { typeOfKey } from './types';

export interface ReconcileContext {
  cache: ObjectCache;
  clock: Clock;
  now: Date;
  /** The revision of the newest event that made this key dirty. */
  cause: number;
  /** Seeded by the cluster seed, the controller, the key, the cause and the attempt. */
  random: Random;
  api: ControllerApi;
}

export interface ReconcileResult {
  /** Reconcile this key again after this long on the clock (a deadline, a start delay). */
  requeueAfterMs?: number;
}

/**
 * A level-triggered controller: `keysFor` says which of its objects a change may concern, and
 * `reconcile` looks at the cached state of one of them and writes what is missing. It must be
 * idempotent: run twice on the same state, the second run writes nothing.
 */
export interface Controller {
  readonly name: string;
  readonly user: UserInfo;
  /** A controller that acts for many identities (kubelets, one per node) names the one for a key. */
  userFor?(key: string, cache: ObjectCache): UserInfo;
  keysFor(change: CacheChange, cache: ObjectCache): Iterable<string>;
  /** Everything to look at once on start: how a restarted controller resumes from the head state. */
  startKeys(cache: ObjectCache): Iterable<string>;
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void>;
}

export interface ManagerOptions {
  events: EventStore;
  resources: ResourceStore;
  branch?: string;
  clock: Clock;
  seed: string;
  controllers: Controller[];
  onError?: (controller: string, key: string, error: unknown) => void;
}

interface Work {
  controller: Controller;
  key: string;
  cause: number;
}

/** Immediate retries of a key whose write lost a race, before backing off on the clock. */
const IMMEDIATE_RETRIES = 5;
const MAX_BACKOFF_MS = 30_000;

/**
 * Runs controllers as projections of the log: one stream of events, folded in revision order into
 * one cache, mapped to dirty keys in a queue that dedupes (a burst of events about one object is one
 * reconcile), and reconciled one key at a time. Processing is serial on purpose: after every
 * reconcile the events its own writes produced are folded before the next key is looked at, so what
 * each controller decides depends only on the events before it, the clock and the seed, and two
 * clusters fed the same events write the same events in the same order.
 */
export class ControllerManager {
  readonly cache = new ObjectCache();
  private readonly branch: string;
  private readonly buffer: StoredEvent[] = [];
  private readonly queue = new Map<string, Work>();
  private readonly timers = new Map<string, { due: number; subscription: Subscription }>();
  private readonly failures = new Map<string, number>();
  private readonly attempts = new Map<string, { cause: number; n: number }>();
  private readonly aggregator = new EventAggregator();
  private head!: BranchHead;
  private subscription?: Subscription;
  private wake?: () => void;
  private busy = false;
  private stopped = false;
  private loop?: Promise<void>;
  private failure?: unknown;

  private constructor(private readonly options: ManagerOptions) {
    this.branch = options.branch ?? 'main';
  }

  static async start(options: ManagerOptions): Promise<ControllerManager> {
    const manager = new ControllerManager(options);
    await manager.begin();
    return manager;
  }

  /** The newest revision folded into the cache: everything up to it has been looked at. */
  get processedRevision(): number {
    return this.cache.revision;
  }

  private async begin(): Promise<void> {
    this.head = await this.options.events.branch(this.branch);
    // Read the head and its revision in one synchronous step, so the watch below starts exactly after it.
    const revision = this.head.revision;
    const items = this.head.all().map((item) => ({
      ...item,
      object: {
        ...item.object,
        metadata: { ...item.object.metadata, resourceVersion: String(item.revision) },
      },
    }));
    this.cache.load(revision, items, (key) => {
      const type = typeOfKey(key);
      return type && { group: type.group, version: type.version, resource: type.resource };
    });
    for (const event of this.cache.list('events')) this.aggregator.index(event);
    this.subscription = this.options.events.watch(this.branch, revision).subscribe({
      next: (event) => {
        this.buffer.push(event);
        this.wake?.();
      },
      error: (error) => {
        this.failure = error;
        this.wake?.();
      },
    });
    for (const controller of this.options.controllers) {
      for (const key of controller.startKeys(this.cache)) this.enqueue(controller, key, revision);
    }
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscription?.unsubscribe();
    for (const t of this.timers.values()) t.subscription.unsubscribe();
    this.timers.clear();
    this.wake?.();
    await this.loop;
  }

  /**
   * Resolves once every committed event has been folded and every dirty key reconciled. On a
   * virtual clock it also moves time to each pending timer in turn, until none is left within
   * `horizonMs` of virtual time: a whole rollout, start delays and grace periods included, in
   * milliseconds of wall time.
   */
  async settle(options: { horizonMs?: number; timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const clock = this.options.clock;
    const until = clock.now().getTime() + (options.horizonMs ?? 0);
    for (;;) {
      await this.idle(deadline);
      if (!(clock instanceof VirtualClock)) return;
      const due = clock.nextDue();
      if (!due || due.getTime() > until) return;
      clock.advanceToNext();
    }
  }

  private async idle(deadline: number): Promise<void> {
    while (this.buffer.length || this.queue.size || this.busy || this.cache.revision < this.head.revision) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline)
        throw new Error(
          `controllers did not settle (queue ${this.queue.size}, revision ${this.cache.revision}/${this.head.revision})`,
        );
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  private enqueue(controller: Controller, key: string, cause: number): void {
    const id = `${controller.name}\u0000${key}`;
    const queued = this.queue.get(id);
    if (queued) queued.cause = Math.max(queued.cause, cause);
    else this.queue.set(id, { controller, key, cause });
    this.wake?.();
  }

  /** One timer per key: the earliest requested wins, a reconcile in between may ask again. */
  private requeueAfter(work: Work, ms: number): void {
    const id = `${work.controller.name}\u0000${work.key}`;
    const due = this.options.clock.now().getTime() + ms;
    const existing = this.timers.get(id);
    if (existing && existing.due <= due) return;
    existing?.subscription.unsubscribe();
    const subscription = this.options.clock.after(ms).subscribe(() => {
      this.timers.delete(id);
      this.enqueue(work.controller, work.key, work.cause);
    });
    if (!subscription.closed) this.timers.set(id, { due, subscription });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.buffer.length) {
        for (const event of this.buffer.splice(0)) this.fold(event);
        continue;
      }
      const next = this.queue.entries().next();
      if (!next.done) {
        const [id, work] = next.value;
        this.queue.delete(id);
        this.busy = true;
        try {
          await this.reconcile(id, work);
        } finally {
          this.busy = false;
        }
        continue;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  private fold(event: StoredEvent): void {
    const change = this.cache.apply(event);
    if (change.resource === 'events' && change.type !== 'DELETED') this.aggregator.index(change.object);
    for (const controller of this.options.controllers) {
      for (const key of controller.keysFor(change, this.cache)) this.enqueue(controller, key, event.revision);
    }
  }

  private async reconcile(id: string, work: Work): Promise<void> {
    const { controller, key, cause } = work;
    const now = this.options.clock.now();
    const previous = this.attempts.get(id);
    const attempt = previous && previous.cause === cause ? previous.n + 1 : 0;
    this.attempts.set(id, { cause, n: attempt });
    const random = seededRandom(this.options.seed, controller.name, key, cause, attempt);
    const ctx: RequestContext = {
      user: controller.userFor?.(key, this.cache) ?? controller.user,
      branch: this.branch,
      now,
      cause,
      userAgent: `kube-controller-manager/v1.32.0 (linux/amd64) kubetime/${controller.name}`,
    };
    const api = new ControllerApi(this.options.resources, ctx, this.cache, random, this.aggregator);
    try {
      const result = await controller.reconcile(key, {
        cache: this.cache,
        clock: this.options.clock,
        now,
        cause,
        random,
        api,
      });
      this.failures.delete(id);
      if (result?.requeueAfterMs !== undefined) this.requeueAfter(work, result.requeueAfterMs);
    } catch (error) {
      const failures = (this.failures.get(id) ?? 0) + 1;
      this.failures.set(id, failures);
      const raced = error instanceof StatusError && (error.code === 409 || error.code === 404);
      if (!raced) this.options.onError?.(controller.name, key, error);
      // A lost race means the cache is behind: the newer event is about to be folded, so look again
      // at once. Anything else, or a key that keeps losing, backs off on the clock.
      if (raced && failures <= IMMEDIATE_RETRIES) this.enqueue(controller, key, cause);
      else this.requeueAfter(work, Math.min(MAX_BACKOFF_MS, 10 * 2 ** Math.min(failures, 12)));
    }
  }
}
