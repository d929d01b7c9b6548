import { KubeObject, StatusError } from '@kubetime/api-machinery';
import { ElectionClock, LeaderElector, LeaseClient } from './leader-election';

/** One Lease with the apiserver's optimistic concurrency: a stale resourceVersion gets a 409. */
class LeaseSlot {
  lease?: KubeObject;
  revision = 0;
  events: string[] = [];
  failing = false;

  client(): LeaseClient {
    return {
      get: async () => this.check() ?? (this.lease && structuredClone(this.lease)),
      create: async (lease) => {
        this.check();
        if (this.lease) throw new StatusError(409, 'AlreadyExists', 'leases "l" already exists');
        return this.store(lease);
      },
      update: async (lease) => {
        this.check();
        if (lease.metadata.resourceVersion !== this.lease?.metadata.resourceVersion)
          throw new StatusError(409, 'Conflict', 'the object has been modified');
        return this.store(lease);
      },
      event: async (_lease, message) => {
        this.events.push(message);
      },
    };
  }

  get spec() {
    return this.lease!.spec;
  }

  private check(): undefined {
    if (this.failing) throw new StatusError(500, 'InternalError', 'database unavailable');
    return undefined;
  }

  private store(lease: KubeObject): KubeObject {
    this.lease = {
      ...structuredClone(lease),
      metadata: { ...lease.metadata, resourceVersion: String(++this.revision) },
    };
    return structuredClone(this.lease);
  }
}

/** Each candidate has its own clock: expiry is judged on it alone. */
class ManualClock implements ElectionClock {
  constructor(public ms = Date.parse('2025-01-01T00:00:00Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.ms += ms;
    await new Promise((r) => setImmediate(r));
  }
}

const TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function candidate(slot: LeaseSlot, identity: string, clock: ManualClock, errors: string[] = []) {
  const calls: string[] = [];
  const elector = new LeaderElector({
    identity,
    namespace: 'kube-system',
    name: 'kubetime-controller-manager',
    ...TIMINGS,
    client: slot.client(),
    clock,
    onStartedLeading: async () => void calls.push('started'),
    onStoppedLeading: async () => void calls.push('stopped'),
    onError: (what) => errors.push(what),
  });
  return { elector, calls };
}

describe('LeaderElector', () => {
  it('creates an absent Lease and holds it', async () => {
    const slot = new LeaseSlot();
    const { elector } = candidate(slot, 'a_1', new ManualClock());
    expect(await elector.tryAcquireOrRenew()).toBe(true);
    expect(slot.lease!.metadata).toMatchObject({
      namespace: 'kube-system',
      name: 'kubetime-controller-manager',
    });
    expect(slot.spec).toEqual({
      holderIdentity: 'a_1',
      leaseDurationSeconds: 15,
      acquireTime: '2025-01-01T00:00:00.000000Z',
      renewTime: '2025-01-01T00:00:00.000000Z',
      leaseTransitions: 0,
    });
  });

  it('renews: renewTime moves, acquireTime and leaseTransitions stay', async () => {
    const slot = new LeaseSlot();
    const clock = new ManualClock();
    const { elector } = candidate(slot, 'a_1', clock);
    await elector.tryAcquireOrRenew();
    clock.ms += 2_000;
    expect(await elector.tryAcquireOrRenew()).toBe(true);
    expect(slot.spec).toMatchObject({
      holderIdentity: 'a_1',
      acquireTime: '2025-01-01T00:00:00.000000Z',
      renewTime: '2025-01-01T00:00:02.000000Z',
      leaseTransitions: 0,
    });
  });

  it('waits a full lease duration from its own observation, whatever the holder’s renewTime says', async () => {
    const slot = new LeaseSlot();
    // The holder's clock is an hour behind: by renewTime alone its Lease looks long expired.
    const { elector: holder } = candidate(slot, 'a_1', new ManualClock(Date.parse('2025-01-01T00:00:00Z')));
    await holder.tryAcquireOrRenew();
    const clock = new ManualClock(Date.parse('2025-01-01T01:00:00Z'));
    const { elector } = candidate(slot, 'b_2', clock);
    expect(await elector.tryAcquireOrRenew()).toBe(false);
    clock.ms += 14_000;
    expect(await elector.tryAcquireOrRenew()).toBe(false);
    expect(slot.spec.holderIdentity).toBe('a_1');
    clock.ms += 1_000;
    expect(await elector.tryAcquireOrRenew()).toBe(true);
    expect(slot.spec).toMatchObject({
      holderIdentity: 'b_2',
      acquireTime: '2025-01-01T01:00:15.000000Z',
      renewTime: '2025-01-01T01:00:15.000000Z',
      leaseTransitions: 1,
    });
  });

  it('counts a renewal seen meanwhile as a new observation', async () => {
    const slot = new LeaseSlot();
    const holderClock = new ManualClock();
    const { elector: holder } = candidate(slot, 'a_1', holderClock);
    await holder.tryAcquireOrRenew();
    const clock = new ManualClock();
    const { elector } = candidate(slot, 'b_2', clock);
    expect(await elector.tryAcquireOrRenew()).toBe(false);
    clock.ms += 10_000;
    holderClock.ms += 10_000;
    await holder.tryAcquireOrRenew();
    expect(await elector.tryAcquireOrRenew()).toBe(false);
    clock.ms += 10_000;
    expect(await elector.tryAcquireOrRenew()).toBe(false);
  });

  it('loses a race for an expired Lease on the 409, quietly', async () => {
    const slot = new LeaseSlot();
    const { elector: holder } = candidate(slot, 'a_1', new ManualClock());
    await holder.tryAcquireOrRenew();
    const errors: string[] = [];
    const bClock = new ManualClock();
    const cClock = new ManualClock();
    const { elector: b } = candidate(slot, 'b_2', bClock, errors);
    const { elector: c } = candidate(slot, 'c_3', cClock, errors);
    await b.tryAcquireOrRenew();
    await c.tryAcquireOrRenew();
    bClock.ms += 16_000;
    cClock.ms += 16_000;
    const [bWon, cWon] = await Promise.all([b.tryAcquireOrRenew(), c.tryAcquireOrRenew()]);
    expect([bWon, cWon].filter(Boolean)).toHaveLength(1);
    expect(slot.spec.holderIdentity).toBe(bWon ? 'b_2' : 'c_3');
    expect(slot.spec.leaseTransitions).toBe(1);
    expect(errors).toEqual([]);
  });

  it('releases: holder cleared, 1 s duration, and the next candidate takes over at once', async () => {
    const slot = new LeaseSlot();
    const { elector: holder } = candidate(slot, 'a_1', new ManualClock());
    await holder.tryAcquireOrRenew();
    const clock = new ManualClock();
    const { elector } = candidate(slot, 'b_2', clock);
    expect(await elector.tryAcquireOrRenew()).toBe(false);
    expect(await holder.release()).toBe(true);
    expect(slot.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect(await elector.tryAcquireOrRenew()).toBe(true);
    expect(slot.spec).toMatchObject({ holderIdentity: 'b_2', leaseDurationSeconds: 15, leaseTransitions: 1 });
    // Only the holder releases.
    expect(await holder.release()).toBe(false);
    expect(slot.spec.holderIdentity).toBe('b_2');
  });

  it('leads, stops leading once the renew deadline passes, campaigns again, and releases on stop', async () => {
    const slot = new LeaseSlot();
    const clock = new ManualClock();
    const errors: string[] = [];
    const { elector, calls } = candidate(slot, 'a_1', clock, errors);
    await elector.start();
    expect(calls).toEqual(['started']);
    expect(elector.isLeader()).toBe(true);
    expect(slot.events).toEqual(['a_1 became leader']);

    slot.failing = true;
    const lostAt = clock.ms;
    await until(() => calls.length === 2);
    expect(calls).toEqual(['started', 'stopped']);
    expect(elector.isLeader()).toBe(false);
    expect(clock.ms - lostAt).toBeGreaterThanOrEqual(TIMINGS.renewDeadlineMs - TIMINGS.retryPeriodMs);
    expect(clock.ms - lostAt).toBeLessThan(TIMINGS.leaseDurationMs);
    expect(errors).toContain('leading');

    slot.failing = false;
    await until(() => calls.length === 3);
    expect(elector.isLeader()).toBe(true);
    await elector.stop();
    expect(calls).toEqual(['started', 'stopped', 'started', 'stopped']);
    expect(slot.spec.holderIdentity).toBe('');
    expect(slot.events).toEqual([
      'a_1 became leader',
      'a_1 stopped leading',
      'a_1 became leader',
      'a_1 stopped leading',
    ]);
  });

  it('stops leading at once when it sees another holder', async () => {
    const slot = new LeaseSlot();
    const clock = new ManualClock();
    const { elector, calls } = candidate(slot, 'a_1', clock);
    await elector.start();
    expect(calls).toEqual(['started']);
    // Another process took over (this one was paused past expiry).
    slot.lease = {
      ...slot.lease!,
      metadata: { ...slot.lease!.metadata, resourceVersion: String(++slot.revision) },
      spec: { ...slot.spec, holderIdentity: 'b_2', leaseTransitions: 1 },
    };
    const seenAt = clock.ms;
    await until(() => calls.length === 2);
    expect(clock.ms - seenAt).toBeLessThanOrEqual(2 * TIMINGS.retryPeriodMs);
    await elector.stop();
    expect(slot.spec.holderIdentity).toBe('b_2');
  });
});

describe('LeaderElector losing the Lease while its controllers start', () => {
  it('aborts the start under way, then stops what did start', async () => {
    const slot = new LeaseSlot();
    const clock = new ManualClock();
    const calls: string[] = [];
    const elector = new LeaderElector({
      identity: 'a_1',
      namespace: 'kube-system',
      name: 'kubetime-controller-manager',
      ...TIMINGS,
      client: slot.client(),
      clock,
      // A start that never finishes on its own, like a long catch-up on the log.
      onStartedLeading: (signal) =>
        new Promise<void>((resolve) => {
          calls.push('starting');
          signal.addEventListener('abort', () => {
            calls.push('start aborted');
            resolve();
          });
        }),
      onStoppedLeading: async () => void calls.push('stopped'),
    });
    const firstAttempt = elector.start();
    await until(() => calls.length === 1);
    slot.failing = true;
    await until(() => calls.length === 3);
    expect(calls).toEqual(['starting', 'start aborted', 'stopped']);
    expect(elector.isLeader()).toBe(false);
    await firstAttempt;
    slot.failing = false;
    await until(() => calls.length === 4);
    await elector.stop();
    expect(calls).toEqual(['starting', 'start aborted', 'stopped', 'starting', 'start aborted', 'stopped']);
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await new Promise((r) => setImmediate(r));
  if (!condition()) throw new Error('condition not reached');
}
