import { StatusError } from '@kubetime/api-machinery';
import type { RequestContext, ResourceStore, UserInfo } from '@kubetime/apiserver';
import { RevisionCompacted } from '@kubetime/event-store';
import type { BranchHead, EventStore, StoredEvent, StoredObject } from '@kubetime/event-store';
import type { Subscription } from 'rxjs';
import { ControllerApi, EventAggregator } from './api';
import { CacheChange, ObjectCache } from './cache';
import { Clock, VirtualClock } from './clock';
import { Random, seededRandom } from './random';
import { WriteSequence } from './sequence';
import { typeOfKey } from './types';

export interface ReconcileContext {
  cache: ObjectCache;
  clock: Clock;
  now: Date;
  /** The revision of the newest event that made this key dirty. */
  cause: number;
  /**
   * Seeded by the cluster seed, the controller, the key, the newest cause it was reconciled for and
   * the number of reconciles since that cause: a stream no earlier reconcile of the key drew from.
   */
  random: Random;
  api: ControllerApi;
  /**
   * Hands over a write (or a chain of them) the reconcile does not wait for: the manager awaits it
   * with the rest of the batch, and its failure is the key's failure. Writes are issued in call
   * order whether awaited or not, so the log comes out the same on every replay.
   */
  defer(write: Promise<unknown>): void;
  /**
   * Writes that follow from the deferred ones succeeding (the Scheduled Event after a binding). They
   * are issued once the whole batch's deferred writes have settled, in the batch's key order, so
   * their place in the log does not depend on which commit came back first.
   */
  afterWrites(next: () => Promise<unknown>): void;
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
  /**
   * Its work goes ahead of every other controller's queued work. For the simulated nodes' heartbeats:
   * in a cluster each kubelet renews its Lease on its own, so a rollout of thousands of pods queued
   * ahead must not hold renewals back until the node lifecycle controller sees the nodes as dead.
   */
  readonly urgent?: boolean;
  /**
   * Up to this many of its queued keys are taken at once (in queue order) and reconciled one after
   * another on the same cache, their deferred writes sequenced together and awaited as one batch.
   * Reconciles of a batch do not see each other's writes in the cache: a controller that batches
   * keeps track of what it issued itself (the scheduler's assumed pods).
   */
  readonly batchSize?: number;
}

export interface ManagerOptions {
  events: EventStore;
  resources: ResourceStore;
  branch?: string;
  clock: Clock;
  seed: string;
  controllers: Controller[];
  onError?: (controller: string, key: string, error: unknown) => void;
  /** Where each controller's processed revision is kept; without it every start resyncs from the head. */
  progress?: ProgressStore;
  /** The least time between two progress records. */
  progressIntervalMs?: number;
  /** Why a start did what it did (resumed, or fell back to the head). */
  onNotice?: (message: string, details: Record<string, unknown>) => void;
  /**
   * Aborts a start still catching up (the leader lost its Lease meanwhile): the start fails with
   * StartAborted before any key is reconciled or any progress recorded.
   */
  signal?: AbortSignal;
}

/** A start abandoned through its signal; nothing was reconciled or recorded. */
export class StartAborted extends Error {
  override readonly name = 'StartAborted';
  constructor(branch: string) {
    super(`controllers of branch ${branch}: start abandoned (the leader's term ended)`);
  }
}

/** The `controller_progress` rows of one branch. */
export interface ProgressStore {
  load(branchId: number): Promise<Map<string, number>>;
  record(branchId: number, revisions: ReadonlyMap<string, number>): Promise<void>;
}

interface Work {
  controller: Controller;
  key: string;
  cause: number;
  /**
   * An event whose replay dirties this key again (keysFor is a function of the event and the cache
   * at it), so a restart that replays from just below it redoes this work. Undefined for work from
   * the start pass, which no event reproduces.
   */
  replayFrom?: number;
}

interface Run {
  id: string;
  work: Work;
  deferred: Promise<unknown>[];
  followUps: (() => Promise<unknown>)[];
  result?: ReconcileResult | void;
  error?: unknown;
  failed: boolean;
}

interface Timer {
  due: number;
  subscription: Subscription;
  work: Work;
}

/** Immediate retries of a key whose write lost a race, before backing off on the clock. */
const IMMEDIATE_RETRIES = 5;
const MAX_BACKOFF_MS = 30_000;
const DEFAULT_PROGRESS_INTERVAL_MS = 1_000;
const CATCH_UP_PAGE = 2_000;

/**
 * Runs controllers as projections of the log: one stream of events, folded in revision order into
 * one cache, mapped to dirty keys in a queue that dedupes (a burst of events about one object is one
 * reconcile), and reconciled one key, or one batch of a controller's keys, at a time. Processing is
 * serial on purpose: after every batch the events its own writes produced are folded before the next
 * key is looked at, and the writes of a batch are sequenced in the order they were issued, so what
 * each controller decides depends only on the events before it, the clock and the seed, and two
 * clusters fed the same events write the same events in the same order.
 */
export class ControllerManager {
  readonly cache = new ObjectCache();
  private readonly branch: string;
  private readonly buffer: StoredEvent[] = [];
  private readonly queue = new Map<string, Work>();
  private readonly urgentQueue = new Map<string, Work>();
  private readonly timers = new Map<string, Timer>();
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
  /** Controllers resuming from a recorded revision: only events after it dirty their keys. */
  private resumeAfter = new Map<string, number>();
  /** What a drained queue proved processed, per controller, and what the table holds. */
  private drained = new Map<string, number>();
  private recorded = new Map<string, number>();
  private recording?: Promise<void>;
  private recordTimer?: ReturnType<typeof setTimeout>;
  private lastRecordAt = 0;

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
    const target = this.head.revision;
    const headItems = this.head.all();
    // Before the recorded state is listed, which on a long log is the costly part of a start.
    if (this.options.signal?.aborted) throw new StartAborted(this.branch);
    const resumed = await this.resumePoint(target);
    if (resumed) {
      this.loadCache(resumed.revision, resumed.items);
      await this.catchUp(resumed.revision, target);
    } else {
      this.loadCache(target, headItems);
    }
    if (this.options.signal?.aborted) throw new StartAborted(this.branch);
    this.subscription = this.options.events.watch(this.branch, target).subscribe({
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
      if (this.resumeAfter.has(controller.name)) continue;
      for (const key of controller.startKeys(this.cache)) this.enqueue(controller, key, target);
    }
    this.loop = this.run();
  }

  /**
   * The oldest revision a controller recorded, with the state there, when the controllers can resume
   * from it; undefined means every controller starts from the head.
   */
  private async resumePoint(
    target: number,
  ): Promise<{ revision: number; items: StoredObject[] } | undefined> {
    if (!this.options.progress) return undefined;
    const recorded = await this.options.progress.load(this.head.id);
    const names = new Set(this.options.controllers.map((c) => c.name));
    const known = [...recorded].filter(([name, revision]) => names.has(name) && revision <= target);
    if (!known.length) {
      this.notice('no recorded progress: controllers start from the head state', { revision: target });
      return undefined;
    }
    const revision = Math.min(...known.map(([, r]) => r));
    try {
      const { items, incomplete } = await this.options.events.list(this.branch, '/registry/', revision);
      if (incomplete.length) {
        // A retention rule forgot some kinds' history there: a cache built from it would miss those
        // objects, and controllers would act on their absence (a ReplicaSet creating pods it has).
        this.notice('recorded progress is below a retention horizon: controllers start from the head state', {
          recorded: revision,
          incomplete: incomplete.map((i) => i.keyPrefix),
        });
        return undefined;
      }
      this.resumeAfter = new Map(known);
      this.notice('controllers resume from their recorded revisions', {
        from: revision,
        to: target,
        fresh: [...names].filter((name) => !this.resumeAfter.has(name)),
      });
      return { revision, items };
    } catch (error) {
      if (!(error instanceof RevisionCompacted)) throw error;
      this.notice('recorded progress was compacted away: controllers start from the head state', {
        recorded: revision,
        compactedTo: this.head.compactRevision,
      });
      return undefined;
    }
  }

  private loadCache(revision: number, items: StoredObject[]): void {
    const versioned = items.map((item) => ({
      ...item,
      object: {
        ...item.object,
        metadata: { ...item.object.metadata, resourceVersion: String(item.revision) },
      },
    }));
    this.cache.load(revision, versioned, (key) => {
      const type = typeOfKey(key);
      return type && { group: type.group, version: type.version, resource: type.resource };
    });
    for (const event of this.cache.list('events')) this.aggregator.index(event);
  }

  /** Folds the events between the recorded revision and the head, before any key is reconciled. */
  private async catchUp(from: number, target: number): Promise<void> {
    let after = from;
    while (after < target) {
      if (this.options.signal?.aborted) throw new StartAborted(this.branch);
      const page = await this.options.events.events(this.branch, after, target, CATCH_UP_PAGE);
      if (!page.length)
        throw new Error(`events ${after + 1}..${target} of branch ${this.branch} are missing`);
      for (const event of page) this.fold(event);
      after = page[page.length - 1].revision;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscription?.unsubscribe();
    for (const t of this.timers.values()) t.subscription.unsubscribe();
    this.timers.clear();
    this.wake?.();
    await this.loop;
    clearTimeout(this.recordTimer);
    await this.recording;
    // A record that cannot be written only costs the next start a longer replay: stopping goes on.
    await this.record().catch((error) => this.options.onError?.('progress', '', error));
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
    while (this.buffer.length || this.queued() || this.busy || this.cache.revision < this.head.revision) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline)
        throw new Error(
          `controllers did not settle (queue ${this.queued()}, revision ${this.cache.revision}/${this.head.revision})`,
        );
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  private enqueue(controller: Controller, key: string, cause: number, replayFrom?: number): void {
    const id = `${controller.name}\u0000${key}`;
    const queue = controller.urgent ? this.urgentQueue : this.queue;
    const queued = queue.get(id);
    if (queued) {
      queued.cause = Math.max(queued.cause, cause);
      queued.replayFrom = latest(queued.replayFrom, replayFrom);
    } else queue.set(id, { controller, key, cause, replayFrom });
    this.wake?.();
  }

  private queued(): number {
    return this.queue.size + this.urgentQueue.size;
  }

  /** One timer per key: the earliest requested wins, a reconcile in between may ask again. */
  private requeueAfter(work: Work, ms: number): void {
    const id = `${work.controller.name}\u0000${work.key}`;
    const due = this.options.clock.now().getTime() + ms;
    const existing = this.timers.get(id);
    if (existing && existing.due <= due) {
      existing.work.replayFrom = latest(existing.work.replayFrom, work.replayFrom);
      return;
    }
    existing?.subscription.unsubscribe();
    const timed: Work = { ...work, replayFrom: latest(existing?.work.replayFrom, work.replayFrom) };
    const subscription = this.options.clock.after(ms).subscribe(() => {
      this.timers.delete(id);
      this.enqueue(timed.controller, timed.key, timed.cause, timed.replayFrom);
    });
    if (!subscription.closed) this.timers.set(id, { due, subscription, work: timed });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.buffer.length) {
        for (const event of this.buffer.splice(0)) this.fold(event);
        continue;
      }
      const queue = this.urgentQueue.size ? this.urgentQueue : this.queue;
      const batch = takeBatch(queue);
      if (batch.length) {
        this.busy = true;
        try {
          await this.reconcile(batch);
        } finally {
          this.busy = false;
        }
        continue;
      }
      this.noteDrained();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  /**
   * With the queue empty, everything up to the cache's revision has been processed, except the work
   * waiting on timers: a controller's progress stays below the event that would bring each of its
   * timed keys back. Timed work from the start pass has no such event, so its controller records
   * nothing until that work is done or an event has touched its key since.
   */
  private noteDrained(): void {
    if (!this.options.progress) return;
    const revisions = new Map(this.options.controllers.map((c) => [c.name, this.cache.revision]));
    for (const { work } of this.timers.values()) {
      const name = work.controller.name;
      if (!revisions.has(name)) continue;
      if (work.replayFrom === undefined) revisions.delete(name);
      else revisions.set(name, Math.min(revisions.get(name)!, work.replayFrom - 1));
    }
    this.drained = revisions;
    this.scheduleRecord();
  }

  /** At most one record per interval, written after the interval when drains come faster. */
  private scheduleRecord(): void {
    if (this.recordTimer || this.stopped) return;
    const interval = this.options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    const wait = Math.max(0, this.lastRecordAt + interval - Date.now());
    this.recordTimer = setTimeout(() => {
      this.recordTimer = undefined;
      if (this.stopped) return;
      this.recording = this.record().catch((error) => this.options.onError?.('progress', '', error));
    }, wait);
  }

  private async record(): Promise<void> {
    const changed = new Map([...this.drained].filter(([name, r]) => this.recorded.get(name) !== r));
    if (!this.options.progress || !changed.size) return;
    this.lastRecordAt = Date.now();
    await this.options.progress.record(this.head.id, changed);
    for (const [name, revision] of changed) this.recorded.set(name, revision);
  }

  private notice(message: string, details: Record<string, unknown>): void {
    this.options.onNotice?.(message, { branch: this.branch, ...details });
  }

  private fold(event: StoredEvent): void {
    const change = this.cache.apply(event);
    if (change.resource === 'events' && change.type !== 'DELETED') this.aggregator.index(change.object);
    for (const controller of this.options.controllers) {
      // A resuming controller already processed what it recorded: only later events are news to it.
      if (event.revision <= (this.resumeAfter.get(controller.name) ?? 0)) continue;
      for (const key of controller.keysFor(change, this.cache))
        this.enqueue(controller, key, event.revision, event.revision);
    }
  }

  private async reconcile(batch: [string, Work][]): Promise<void> {
    const sequence = new WriteSequence();
    const runs: Run[] = [];
    for (const [id, work] of batch) {
      const run: Run = { id, work, deferred: [], followUps: [], failed: false };
      runs.push(run);
      try {
        run.result = await work.controller.reconcile(work.key, this.context(id, work, sequence, run));
      } catch (error) {
        run.failed = true;
        run.error = error;
      }
    }
    await awaitDeferred(runs);
    for (const run of runs) {
      if (run.failed) continue;
      const followUps = run.followUps.splice(0);
      for (const next of followUps) {
        try {
          run.deferred.push(next());
        } catch (error) {
          run.deferred.push(Promise.reject(error));
        }
      }
    }
    await awaitDeferred(runs);
    for (const run of runs) this.finish(run);
  }

  private context(id: string, work: Work, sequence: WriteSequence, run: Run): ReconcileContext {
    const { controller, key, cause } = work;
    const now = this.options.clock.now();
    // A timer fires with the cause it was set with, older than a reconcile of the key since then:
    // counting on from the newest cause gives every reconcile of a key a stream of its own, where
    // restarting at the timer's cause would draw an earlier reconcile's names again (AlreadyExists).
    const previous = this.attempts.get(id);
    const again = previous !== undefined && cause <= previous.cause;
    const stream = { cause: again ? previous.cause : cause, n: again ? previous.n + 1 : 0 };
    this.attempts.set(id, stream);
    const random = seededRandom(this.options.seed, controller.name, key, stream.cause, stream.n);
    const ctx: RequestContext = {
      user: controller.userFor?.(key, this.cache) ?? controller.user,
      branch: this.branch,
      now,
      cause,
      userAgent: `kube-controller-manager/v1.32.0 (linux/amd64) kubetime/${controller.name}`,
    };
    const api = new ControllerApi(this.options.resources, ctx, this.cache, random, this.aggregator, sequence);
    return {
      cache: this.cache,
      clock: this.options.clock,
      now,
      cause,
      random,
      api,
      defer: (write) => {
        // Observed here so a failure is not an unhandled rejection before the batch awaits it.
        write.catch(() => undefined);
        run.deferred.push(write);
      },
      afterWrites: (next) => run.followUps.push(next),
    };
  }

  private finish(run: Run): void {
    const { id, work } = run;
    if (!run.failed) {
      this.failures.delete(id);
      if (run.result?.requeueAfterMs !== undefined) this.requeueAfter(work, run.result.requeueAfterMs);
      return;
    }
    const error = run.error;
    const failures = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, failures);
    const raced = error instanceof StatusError && (error.code === 409 || error.code === 404);
    if (!raced) this.options.onError?.(work.controller.name, work.key, error);
    // A lost race means the cache is behind: the newer event is about to be folded, so look again
    // at once. Anything else, or a key that keeps losing, backs off on the clock.
    if (raced && failures <= IMMEDIATE_RETRIES)
      this.enqueue(work.controller, work.key, work.cause, work.replayFrom);
    else this.requeueAfter(work, Math.min(MAX_BACKOFF_MS, 10 * 2 ** Math.min(failures, 12)));
  }
}

/** Awaits every run's deferred writes; the first failure of a run that had none is its error. */
async function awaitDeferred(runs: Run[]): Promise<void> {
  for (const run of runs) {
    const outcomes = await Promise.allSettled(run.deferred.splice(0));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed && !run.failed) {
      run.failed = true;
      run.error = failed.reason;
    }
  }
}

/** The first queued work, with the controller's next queued keys after it when it reconciles in batches. */
function takeBatch(queue: Map<string, Work>): [string, Work][] {
  const first = queue.entries().next();
  if (first.done) return [];
  const controller = first.value[1].controller;
  const size = controller.batchSize ?? 1;
  const batch: [string, Work][] = [];
  for (const entry of queue) {
    if (entry[1].controller !== controller) continue;
    batch.push(entry);
    if (batch.length >= size) break;
  }
  for (const [id] of batch) queue.delete(id);
  return batch;
}

function latest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}
