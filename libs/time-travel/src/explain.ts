import type { KubeObject } from '@kubetime/api-machinery';
import type { StoredEvent } from '@kubetime/event-store';
import { keyOf, TimeTravelContext, typeByName } from './context';
import { actorKind } from './filter';
import { invalid, Params } from './params';
import type { Session } from './session';
import type { Redact } from './views';

/** Cause links followed at most; a Pod is usually three away from the user (RS, Deployment, apply). */
const MAX_CHAIN = 32;
const MAX_VERSIONS = 10_000;
const SCHEDULER = 'system:kube-scheduler';
const SCHEDULING_DECISION = 'kubetime.io/scheduling-decision';

interface Link {
  revision: number;
  type: string;
  kind: string;
  namespace: string | null;
  name: string;
  actor: string;
  actorKind: string;
  verb: string | null;
  cause: number | null;
  time: string;
}

/**
 * explain: why an object is as it is at a revision. Controllers record the revision that made them
 * act (`cause`), so following those links from the object's creation and from its latest change
 * leads back through the controllers to the user write that started it. For a Pod the scheduler's
 * decision is added: the binding, its PodScheduled condition and the scheduler's Events.
 */
export class ExplainMethod {
  constructor(private readonly ctx: TimeTravelContext) {}

  async explain(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const point = await this.ctx.point(params);
    const redact = await this.ctx.redactor(session, params, point.branch);
    const type = typeByName(params.string('kind'), params.optionalString('apiVersion'));
    const namespace = params.optionalString('namespace');
    const name = params.string('name');
    const key = keyOf(type, namespace, name);
    const all = (await this.ctx.log.keyHistory(point.branch, key, MAX_VERSIONS)).filter(
      (e) => e.revision <= point.revision,
    );
    if (!all.length)
      throw invalid(
        `${type.kind} ${namespace ? `${namespace}/` : ''}${name} did not exist at revision ${point.revision}`,
      );
    // The current incarnation: from the newest creation of the name on.
    const born = all.map((e) => e.type).lastIndexOf('ADDED');
    const versions = all.slice(Math.max(0, born));
    const latest = versions[versions.length - 1];
    const creation = versions[0];
    const result: Record<string, unknown> = {
      branch: point.branch,
      revision: point.revision,
      key,
      kind: type.kind,
      namespace: namespace ?? null,
      name,
      exists: latest.type !== 'DELETED',
      object: redact(latest.object),
      versions: versions.map(link),
      createdBy: await this.chain(point.branch, creation),
      lastChangedBy: await this.chain(point.branch, latest),
    };
    if (type.kind === 'Pod')
      result.scheduling = await this.scheduling(point.branch, point.revision, versions, redact);
    return result;
  }

  /** The event itself, then the event that caused it, and so on until a write nobody caused. */
  private async chain(branch: string, start: StoredEvent): Promise<Link[]> {
    const links: Link[] = [link(start)];
    const seen = new Set([start.revision]);
    let cause = start.cause;
    while (cause !== null && links.length < MAX_CHAIN && !seen.has(cause)) {
      seen.add(cause);
      const [event] = await this.ctx.events.events(branch, cause - 1, cause, 1);
      if (!event) break;
      links.push(link(event));
      cause = event.cause;
    }
    return links;
  }

  private async scheduling(
    branch: string,
    revision: number,
    versions: StoredEvent[],
    redact: Redact,
  ): Promise<Record<string, unknown>> {
    const bound = versions.find((e) => e.actor === SCHEDULER && e.object.spec?.nodeName);
    const latest = versions[versions.length - 1].object;
    const condition = (latest.status?.conditions ?? []).find(
      (c: { type?: string }) => c.type === 'PodScheduled',
    );
    const namespace = latest.metadata.namespace ?? '';
    const uid = latest.metadata.uid;
    const events = (await this.ctx.state({ branch, revision }, `/registry/events/${namespace}/`)).items
      .map((item) => redact(item.object))
      .filter((e: KubeObject) => e.involvedObject?.uid === uid && schedulerEvent(e))
      .map((e: KubeObject) => ({
        reason: e.reason,
        type: e.type,
        message: e.message ?? e.note,
        count: e.count ?? e.series?.count ?? 1,
      }));
    return {
      node: latest.spec?.nodeName ?? null,
      boundAt: bound ? link(bound) : null,
      condition: condition ?? null,
      decision: decisionOf(latest),
      events,
    };
  }
}

/**
 * The scheduler's own record of its last attempt (see the scheduler controller): every node with
 * each filter plugin's verdict and, for nodes that passed, each score plugin's score and the weighted
 * total. A value that does not parse is shown as written rather than hidden.
 */
function decisionOf(pod: KubeObject): unknown {
  const recorded = pod.metadata.annotations?.[SCHEDULING_DECISION];
  if (recorded === undefined) return null;
  try {
    return JSON.parse(recorded);
  } catch {
    return { unreadable: recorded };
  }
}

function schedulerEvent(event: KubeObject): boolean {
  const component = event.source?.component ?? event.reportingController ?? event.reportingComponent;
  return (
    component === 'default-scheduler' || event.reason === 'Scheduled' || event.reason === 'FailedScheduling'
  );
}

function link(event: StoredEvent): Link {
  return {
    revision: event.revision,
    type: event.type,
    kind: event.kind,
    namespace: event.namespace,
    name: event.name,
    actor: event.actor,
    actorKind: actorKind(event.actor, event.cause),
    verb: event.request?.verb ?? null,
    cause: event.cause,
    time: event.recordedAt.toISOString(),
  };
}
