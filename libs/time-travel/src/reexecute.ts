import { createHash } from 'crypto';
import { compare } from 'fast-json-patch';
import { deepClone, findResourceType, StatusError, type KubeObject } from '@kubetime/api-machinery';
import type { RequestContext } from '@kubetime/apiserver';
import type { StoredEvent } from '@kubetime/event-store';
import { branchView } from './branches';
import { advanceTo } from './clock';
import { notLeading, TimeTravelContext } from './context';
import { actorKind, compileFilter } from './filter';
import { invalid, Params } from './params';
import { RpcCodes, RpcError } from './rpc';
import type { Session } from './session';
import { eventView, withoutIgnored, type Ignorable, type Redact } from './views';

/** A source range re-executed in one call; the whole recording and its re-execution are held in memory. */
const MAX_RANGE_EVENTS = 200_000;
const MAX_DIVERGENCES = 200;
const READ_BATCH = 5000;
/** What two executions of the same writes may legitimately differ in. */
const NOISE = new Set<Ignorable>(['resourceVersion', 'managedFields', 'uid', 'timestamps']);

interface Normalized {
  event: StoredEvent;
  /** type, actor and the object without noise, as one canonical string. */
  canonical: string;
  object: KubeObject;
}

/**
 * replay.reexecute: the user writes of a recorded range, applied again on a fresh fork at the start
 * of the range while today's controllers run on a virtual clock, then compared object by object with
 * what was recorded. The target's controllers are seeded like the source branch's, so an unchanged
 * control plane reproduces the recorded names, and two re-executions are identical.
 */
export class ReexecuteMethod {
  constructor(private readonly ctx: TimeTravelContext) {}

  async reexecute(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    await this.ctx.requireWrite(session, 'replay.reexecute');
    const source = params.object('source');
    const sourceBranch = source.optionalString('branch') ?? 'main';
    const from = await this.ctx.point(
      new Params({ branch: sourceBranch, revision: source.value('from') }, 'source.'),
    );
    const to = await this.ctx.point(
      new Params({ branch: sourceBranch, revision: source.value('to') }, 'source.'),
    );
    if (to.revision < from.revision) throw invalid('source.to must not be below source.from');
    if (to.revision - from.revision > MAX_RANGE_EVENTS)
      throw invalid(`a re-executed range holds at most ${MAX_RANGE_EVENTS} events; split it`);
    const target = params.string('target');
    const clock = params.oneOf('clock', ['virtual'] as const, 'virtual');
    const divergenceFilter = compileFilter(params.optionalObject('filter'), { events: true });
    const redact = await this.ctx.redactor(session, params, sourceBranch);
    if (!this.ctx.branchControllers)
      throw new RpcError(
        RpcCodes.Unavailable,
        're-execution needs controllers: the server runs with KUBETIME_CONTROLLERS=off',
      );
    if (!this.ctx.branchControllers.active) throw notLeading();

    const recorded = await this.read(sourceBranch, from.revision, to.revision);
    const userWrites = recorded.filter((e) => actorKind(e.actor, e.cause) === 'user');
    const startTime = await this.timeOf(sourceBranch, from.revision);
    const sourceSeed =
      sourceBranch === 'main'
        ? 'kubetime'
        : ((await this.ctx.branchControllers.get(sourceBranch))?.seed ?? sourceBranch);

    const info = await this.ctx.events.branches.fork(target, sourceBranch, from.revision, clock);
    const running = await this.ctx.branchControllers.start(info, { seed: sourceSeed, start: startTime });
    const skipped: { revision: number; reason: string }[] = [];
    const started = Date.now();
    await this.ctx.branchControllers.exclusive(target, async () => {
      for (const write of userWrites) {
        // The clock started at the range's first instant, so a write's recorded time is its offset.
        await advanceTo(running, Math.max(running.clock.now().getTime(), write.recordedAt.getTime()));
        const reason = await this.apply(target, write, running.clock.now());
        if (reason) skipped.push({ revision: write.revision, reason });
      }
      const end = recorded.length ? recorded[recorded.length - 1].recordedAt : startTime;
      await advanceTo(running, Math.max(running.clock.now().getTime(), end.getTime()));
    });
    const wallMs = Date.now() - started;

    const head = (await this.ctx.events.branch(target)).revision;
    const produced = await this.read(target, from.revision, head);
    const report = divergences(recorded, produced, divergenceFilter, redact);
    return {
      source: { branch: sourceBranch, from: from.revision, to: to.revision },
      target: branchView(await this.ctx.events.branches.get(target)),
      clock: { start: startTime.toISOString(), end: running.clock.now().toISOString(), seed: running.seed },
      userWrites: userWrites.length,
      replayed: userWrites.length - skipped.length,
      skipped,
      recordedEvents: recorded.length,
      events: produced.length,
      wallMs,
      identicalObjects: report.identical,
      divergences: report.items,
      divergencesTruncated: report.truncated,
      fingerprint: fingerprint(produced),
    };
  }

  /** Applies one recorded user write as its actor; returns why it could not be, if it could not. */
  private async apply(branch: string, write: StoredEvent, now: Date): Promise<string | undefined> {
    const type = findResourceType(write.group, write.version, write.resource);
    if (!type) return `unknown resource ${write.group}/${write.version}/${write.resource}`;
    const ctx: RequestContext = {
      user: { username: write.actor, groups: ['system:authenticated'] },
      branch,
      now,
      userAgent: 'kubetime/reexecute',
      requestId: `reexecute-${write.revision}`,
    };
    const namespace = write.namespace ?? undefined;
    const resources = this.ctx.resources;
    try {
      const verb = write.request?.verb;
      if (write.type === 'DELETED' || verb === 'delete') {
        await resources.delete(ctx, type, namespace, write.name, { dryRun: false });
      } else if (write.type === 'ADDED') {
        await resources.create(ctx, type, namespace, asWritten(write.object), { dryRun: false });
      } else {
        await resources.update(ctx, type, namespace, write.name, asWritten(write.object), { dryRun: false });
      }
      return undefined;
    } catch (error) {
      if (error instanceof StatusError) return `${error.code}: ${error.message}`;
      throw error;
    }
  }

  private async read(branch: string, after: number, upTo: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    while (after < upTo && out.length <= MAX_RANGE_EVENTS) {
      const batch = await this.ctx.events.events(branch, after, upTo, READ_BATCH);
      if (!batch.length) break;
      out.push(...batch);
      after = batch[batch.length - 1].revision;
    }
    return out;
  }

  private async timeOf(branch: string, revision: number): Promise<Date> {
    const [event] = await this.ctx.events.events(branch, revision - 1, revision, 1);
    if (!event) throw invalid(`revision ${revision} of branch "${branch}" has no event to take a time from`);
    return event.recordedAt;
  }
}

/** The recorded body as a client would send it: the server assigns identity and versions again. */
function asWritten(object: KubeObject): KubeObject {
  const copy = deepClone(object);
  const {
    uid: _uid,
    resourceVersion: _rv,
    creationTimestamp: _ct,
    generation: _g,
    managedFields: _mf,
    ...metadata
  } = copy.metadata;
  copy.metadata = metadata;
  return copy;
}

function normalize(event: StoredEvent): Normalized {
  const object = withoutIgnored(event.object, NOISE);
  const canonical = JSON.stringify([event.type, event.actor, canonicalJson(object)]);
  return { event, canonical, object };
}

/**
 * uids and resource versions appear beyond metadata (owner references, an Event's involvedObject),
 * and times beyond the well-known fields (container startedAt/finishedAt, Event first/last
 * timestamps): all are dropped at any depth, with keys sorted so equal objects print equal.
 */
function canonicalJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalJson);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .filter((k) => !NOISY_KEYS.has(k) && !/(Time|Timestamp)$/.test(k))
        .sort()
        .map((k) => [k, canonicalJson((value as Record<string, unknown>)[k])]),
    );
  return value;
}

const NOISY_KEYS = new Set(['uid', 'resourceVersion', 'startedAt', 'finishedAt', 'startTime']);

/** One digest of a history without its noise: equal digests, equal re-executions. */
function fingerprint(events: StoredEvent[]): string {
  const hash = createHash('sha256');
  for (const event of events) hash.update(`${event.key}\u0000${normalize(event).canonical}\n`);
  return hash.digest('hex');
}

interface DivergenceReport {
  identical: number;
  truncated: boolean;
  items: Record<string, unknown>[];
}

/** Per object (storage key), the first event where the re-executed sequence leaves the recorded one. */
function divergences(
  recorded: StoredEvent[],
  produced: StoredEvent[],
  filter: ReturnType<typeof compileFilter>,
  redact: Redact,
): DivergenceReport {
  const byKey = (events: StoredEvent[]) => {
    const map = new Map<string, Normalized[]>();
    for (const event of events) {
      const list = map.get(event.key) ?? [];
      list.push(normalize(event));
      map.set(event.key, list);
    }
    return map;
  };
  const was = byKey(recorded);
  const now = byKey(produced);
  const keys = [...new Set([...was.keys(), ...now.keys()])].sort();
  const report: DivergenceReport = { identical: 0, truncated: false, items: [] };
  for (const key of keys) {
    const a = was.get(key) ?? [];
    const b = now.get(key) ?? [];
    let index = 0;
    while (index < a.length && index < b.length && a[index].canonical === b[index].canonical) index++;
    if (index === a.length && index === b.length) {
      report.identical++;
      continue;
    }
    const sample = (a[index] ?? b[index]).event;
    if (!filter({ ...sample, object: redact(sample.object) })) continue;
    if (report.items.length >= MAX_DIVERGENCES) {
      report.truncated = true;
      continue;
    }
    const left = a[index];
    const right = b[index];
    report.items.push({
      key,
      kind: sample.kind,
      namespace: sample.namespace,
      name: sample.name,
      index,
      recordedEvents: a.length,
      reexecutedEvents: b.length,
      recorded: left ? eventView(left.event, undefined) : null,
      reexecuted: right ? eventView(right.event, undefined) : null,
      patch:
        left && right
          ? compare(
              canonicalJson(redact(left.object)) as object,
              canonicalJson(redact(right.object)) as object,
            )
          : undefined,
    });
  }
  return report;
}
