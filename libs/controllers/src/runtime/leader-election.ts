import { randomBytes } from 'crypto';
import { KubeObject, rfc3339, StatusError } from '@kubetime/api-machinery';
import type { RequestContext, ResourceStore, UserInfo } from '@kubetime/apiserver';
import { TYPES } from './types';

/** Wall time for the elector, replaceable in tests; `sleep` ends early when the signal aborts. */
export interface ElectionClock {
  now(): Date;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const wallElectionClock: ElectionClock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    }),
};

/** The Lease the election is held on, read and written with optimistic concurrency (409 = lost). */
export interface LeaseClient {
  get(): Promise<KubeObject | undefined>;
  create(lease: KubeObject): Promise<KubeObject>;
  update(lease: KubeObject): Promise<KubeObject>;
  /** A core/v1 Event about the Lease. */
  event(lease: KubeObject, message: string): Promise<void>;
}

export interface LeaderElectionOptions {
  /** `<hostname>_<uuid>`, unique per process. */
  identity: string;
  namespace: string;
  name: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  client: LeaseClient;
  clock?: ElectionClock;
  /**
   * Starts the controllers. The signal aborts when this term ends (the Lease is lost or `stop` is
   * called) while starting is still under way: a start that takes a while should look at it between
   * its steps, as client-go's callback watches its context, so a process that lost the Lease does
   * not go on starting controllers another process is already running.
   */
  onStartedLeading(signal: AbortSignal): Promise<void>;
  onStoppedLeading(): Promise<void>;
  onError?: (what: string, error: unknown) => void;
}

/** client-go's defaults for kube-controller-manager. */
export const DEFAULT_LEADER_ELECTION = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package runs it.
 * A candidate takes the Lease when it is absent, released, or expired; expiry is judged on this
 * process's own clock, from when it last saw the record change, never from the holder's renewTime,
 * so clock skew between processes cannot make a live leader look expired. The leader renews every
 * retry period; when it has not managed to for the renew deadline, or sees another holder, it stops
 * leading and is a candidate again. Every write is conditional on the resourceVersion read, so of two
 * candidates racing for an expired Lease exactly one wins and the other gets a 409.
 */
export class LeaderElector {
  private readonly clock: ElectionClock;
  private observed?: { lease: KubeObject; record: string };
  private observedTime = 0;
  private leading = false;
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private firstAttempt: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeaderElectionOptions) {
    this.clock = options.clock ?? wallElectionClock;
  }

  get identity(): string {
    return this.options.identity;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns, leads, and campaigns again after a loss, until `stop`. Resolves after the first
   * attempt: when it won, once the controllers have started, so a lone server is ready and leading
   * at once.
   */
  start(): Promise<void> {
    if (this.loop) return this.firstAttempt;
    let settle!: () => void;
    this.firstAttempt = new Promise<void>((resolve) => (settle = resolve));
    this.loop = this.run(settle).finally(settle);
    return this.firstAttempt;
  }

  /** Stops leading (controllers first), then releases the Lease so another process takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.release();
  }

  /**
   * One attempt: take the Lease if it is free or expired, renew it if held. True when this process
   * holds it afterwards.
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const desired = (previous: LeaseRecord | undefined): LeaseRecord => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
      acquireTime:
        previous?.holderIdentity === this.identity
          ? (previous.acquireTime ?? microTime(now))
          : microTime(now),
      renewTime: microTime(now),
      leaseTransitions:
        previous === undefined
          ? 0
          : previous.holderIdentity === this.identity
            ? previous.leaseTransitions
            : previous.leaseTransitions + 1,
    });
    let current: KubeObject | undefined;
    try {
      current = await this.options.client.get();
      if (!current) {
        const created = await this.options.client.create(this.leaseWith(undefined, desired(undefined)));
        this.observe(created, now);
        return true;
      }
    } catch (error) {
      if (!isConflict(error)) this.options.onError?.('reading or creating the lease', error);
      return false;
    }
    const record = recordOf(current);
    if (!this.observed || JSON.stringify(record) !== this.observed.record) this.observe(current, now);
    const heldByOther =
      record.holderIdentity !== '' &&
      record.holderIdentity !== this.identity &&
      this.observedTime + record.leaseDurationSeconds * 1000 > now.getTime();
    if (heldByOther) return false;
    try {
      const updated = await this.options.client.update(this.leaseWith(current, desired(record)));
      this.observe(updated, now);
      return true;
    } catch (error) {
      if (!isConflict(error)) this.options.onError?.('updating the lease', error);
      return false;
    }
  }

  /** Who this process last saw holding the Lease ('' when released). */
  observedHolder(): string | undefined {
    return this.observed && recordOf(this.observed.lease).holderIdentity;
  }

  /**
   * Gives the Lease up, as upstream's ReleaseOnCancel does: holder cleared and a 1 s duration, so a
   * candidate takes over on its next try instead of waiting for expiry. Only the holder releases.
   */
  async release(): Promise<boolean> {
    if (!this.observed || recordOf(this.observed.lease).holderIdentity !== this.identity) return false;
    const now = this.clock.now();
    const previous = recordOf(this.observed.lease);
    try {
      const released = await this.options.client.update(
        this.leaseWith(this.observed.lease, {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: previous.leaseTransitions,
        }),
      );
      this.observe(released, now);
      return true;
    } catch (error) {
      this.options.onError?.('releasing the lease', error);
      return false;
    }
  }

  private async run(firstAttemptDone: () => void): Promise<void> {
    const { signal } = this.abort;
    const { retryPeriodMs, renewDeadlineMs } = this.options;
    while (!signal.aborted) {
      while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
        firstAttemptDone();
        await this.clock.sleep(retryPeriodMs, signal);
      }
      if (signal.aborted) return;
      this.leading = true;
      await this.announce('became leader');
      const term = new AbortController();
      const endTerm = () => term.abort();
      signal.addEventListener('abort', endTerm, { once: true });
      // Starting the controllers may take a while (catching up on the log): renewing goes on meanwhile.
      const started = this.options
        .onStartedLeading(term.signal)
        .catch((error) => this.options.onError?.('starting to lead', error))
        .finally(firstAttemptDone);
      let renewed = this.clock.now().getTime();
      while (!signal.aborted) {
        await this.clock.sleep(retryPeriodMs, signal);
        if (signal.aborted) break;
        if (await this.tryAcquireOrRenew()) {
          renewed = this.clock.now().getTime();
          continue;
        }
        const taken = this.observedHolder() !== this.identity;
        if (taken || this.clock.now().getTime() - renewed >= renewDeadlineMs) {
          this.options.onError?.(
            'leading',
            new Error(
              taken
                ? `the lease is now held by ${this.observedHolder() || 'nobody'}`
                : `could not renew the lease for ${renewDeadlineMs} ms`,
            ),
          );
          break;
        }
      }
      endTerm();
      signal.removeEventListener('abort', endTerm);
      await started;
      this.leading = false;
      try {
        await this.options.onStoppedLeading();
      } catch (error) {
        // Whatever failed while stopping, this process keeps campaigning rather than dying quietly.
        this.options.onError?.('stopping the controllers', error);
      }
      await this.announce('stopped leading');
    }
  }

  private async announce(message: string): Promise<void> {
    if (!this.observed) return;
    try {
      await this.options.client.event(this.observed.lease, `${this.identity} ${message}`);
    } catch (error) {
      this.options.onError?.('recording the LeaderElection event', error);
    }
  }

  private observe(lease: KubeObject, now: Date): void {
    this.observed = { lease, record: JSON.stringify(recordOf(lease)) };
    this.observedTime = now.getTime();
  }

  private leaseWith(current: KubeObject | undefined, record: LeaseRecord): KubeObject {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: current
        ? { ...current.metadata }
        : { name: this.options.name, namespace: this.options.namespace },
      spec: { ...(current?.spec ?? {}), ...record },
    };
  }
}

function recordOf(lease: KubeObject): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: spec.acquireTime,
    renewTime: spec.renewTime,
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

function isConflict(error: unknown): boolean {
  return error instanceof StatusError && error.code === 409;
}

/** Lease times are MicroTime: microsecond precision. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const CONTROLLER_MANAGER: UserInfo = {
  username: 'system:kube-controller-manager',
  groups: ['system:authenticated'],
};

/**
 * The Lease through the apiserver's write path on a branch, as kube-controller-manager's own
 * client, with its Events as the leader election's recorder writes them.
 */
export function resourceLeaseClient(
  resources: ResourceStore,
  where: { branch: string; namespace: string; name: string },
): LeaseClient {
  const ctx = (): RequestContext => ({
    user: CONTROLLER_MANAGER,
    branch: where.branch,
    now: new Date(),
    userAgent: 'kube-controller-manager/v1.32.0 (linux/amd64) kubetime/leader-election',
  });
  return {
    async get() {
      try {
        return await resources.get(ctx(), TYPES.leases, where.namespace, where.name);
      } catch (error) {
        if (error instanceof StatusError && error.code === 404) return undefined;
        throw error;
      }
    },
    create: (lease) => resources.create(ctx(), TYPES.leases, where.namespace, lease, { dryRun: false }),
    update: (lease) =>
      resources.update(ctx(), TYPES.leases, where.namespace, where.name, lease, { dryRun: false }),
    async event(lease, message) {
      const context = ctx();
      const now = rfc3339(context.now);
      await resources.create(
        context,
        TYPES.events,
        where.namespace,
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: `${where.name}.${randomBytes(8).toString('hex')}`, namespace: where.namespace },
          involvedObject: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            namespace: where.namespace,
            name: where.name,
            uid: lease.metadata.uid,
            resourceVersion: lease.metadata.resourceVersion,
          },
          reason: 'LeaderElection',
          message,
          source: { component: 'kube-controller-manager' },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          type: 'Normal',
          eventTime: null,
          reportingComponent: 'kube-controller-manager',
          reportingInstance: '',
        },
        { dryRun: false },
      );
    },
  };
}
