import { deepClone, KubeObject, ResourceType, rfc3339, StatusError } from '@kubetime/api-machinery';
import type { RequestContext, ResourceStore, UserInfo } from '@kubetime/apiserver';
import type { ObjectCache } from './cache';
import type { Random } from './random';
import type { WriteSequence } from './sequence';
import { TYPES } from './types';

export interface EventSource {
  component: string;
  host?: string;
}

/**
 * The only way a controller writes: through the apiserver's ResourceStore (defaults, validation,
 * optimistic concurrency, finalizers), as the controller's own user, with the revision that made it
 * act as the cause. Every write is therefore an event in the log that says who made it and why.
 * Writes go through the manager's sequence, so the order they were called in is the order of their
 * revisions even when a controller does not wait for one before issuing the next.
 */
export class ControllerApi {
  constructor(
    private readonly resources: ResourceStore,
    private readonly ctx: RequestContext,
    private readonly cache: ObjectCache,
    private readonly random: Random,
    private readonly recorder: EventAggregator,
    private readonly sequence: WriteSequence,
  ) {}

  get user(): UserInfo {
    return this.ctx.user;
  }

  create(type: ResourceType, object: KubeObject): Promise<KubeObject> {
    return this.sequence.issue((onSequenced) =>
      this.resources.create({ ...this.ctx, onSequenced }, type, object.metadata.namespace, object, {
        dryRun: false,
      }),
    );
  }

  /** A main-resource write, conditional on the resourceVersion the object was read at. */
  update(type: ResourceType, object: KubeObject): Promise<KubeObject> {
    return this.updateAt(type, object);
  }

  updateStatus(type: ResourceType, object: KubeObject): Promise<KubeObject> {
    return this.updateAt(type, object, 'status');
  }

  private updateAt(type: ResourceType, object: KubeObject, subresource?: 'status'): Promise<KubeObject> {
    return this.sequence.issue((onSequenced) =>
      this.resources.update(
        { ...this.ctx, onSequenced },
        type,
        object.metadata.namespace,
        object.metadata.name!,
        object,
        subresource ? { dryRun: false, subresource } : { dryRun: false },
      ),
    );
  }

  /** Deletes the object if it is still the one the controller saw (same uid); gone already is fine. */
  async delete(
    type: ResourceType,
    object: KubeObject,
    options: { gracePeriodSeconds?: number; propagationPolicy?: 'Background' | 'Foreground' | 'Orphan' } = {},
  ): Promise<void> {
    try {
      await this.sequence.issue((onSequenced) =>
        this.resources.delete(
          { ...this.ctx, onSequenced },
          type,
          object.metadata.namespace,
          object.metadata.name!,
          {
            dryRun: false,
            preconditions: { uid: object.metadata.uid },
            propagationPolicy: options.propagationPolicy ?? 'Background',
            gracePeriodSeconds: options.gracePeriodSeconds,
          },
        ),
      );
    } catch (error) {
      if (!(error instanceof StatusError && error.code === 404)) throw error;
    }
  }

  /**
   * pods/binding: sets spec.nodeName on an unbound pod, which no ordinary update may do, and marks it
   * PodScheduled as the binding registry does. Conditional on the revision the scheduler decided on.
   */
  async bind(pod: KubeObject, node: string): Promise<KubeObject> {
    const bound = deepClone(pod);
    bound.spec.nodeName = node;
    bound.status = { ...(bound.status ?? {}) };
    bound.status.conditions = [
      ...(bound.status.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled'),
      {
        type: 'PodScheduled',
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: rfc3339(this.ctx.now),
      },
    ];
    try {
      return await this.sequence.issue((onSequenced) =>
        this.resources.appendWrite(
          { ...this.ctx, onSequenced },
          TYPES.pods,
          bound,
          'MODIFIED',
          Number(pod.metadata.resourceVersion),
          'create',
        ),
      );
    } catch (error) {
      if (error instanceof StatusError) throw error;
      // The pod changed since the scheduler read it: the write path's race signal, as a 409.
      throw new StatusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on pods "${pod.metadata.name}": the object has been modified`,
      );
    }
  }

  /** A core/v1 Event about the object, aggregated into an earlier identical one as the recorder does. */
  async event(
    involved: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: EventSource,
  ): Promise<void> {
    const now = rfc3339(this.ctx.now);
    const namespace = involved.metadata.namespace ?? 'default';
    const key = aggregationKey(involved, reason, message, source);
    const earlier = this.recorder.find(key, this.cache);
    if (earlier) {
      const next = deepClone(earlier);
      next.count = (earlier.count ?? 1) + 1;
      next.lastTimestamp = now;
      await this.update(TYPES.events, next);
      return;
    }
    const name = `${involved.metadata.name}.${this.random.string(16, '0123456789abcdef')}`;
    this.recorder.remember(key, namespace, name);
    await this.create(TYPES.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: involved.apiVersion,
        kind: involved.kind,
        namespace: involved.metadata.namespace,
        name: involved.metadata.name,
        uid: involved.metadata.uid,
        resourceVersion: involved.metadata.resourceVersion,
      },
      reason,
      message,
      source,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    });
  }
}

function aggregationKey(involved: KubeObject, reason: string, message: string, source: EventSource): string {
  return [
    involved.metadata.namespace,
    involved.metadata.uid,
    reason,
    message,
    source.component,
    source.host ?? '',
  ].join('\u0000');
}

/** Remembers which Event holds each (object, reason, message, source), so repeats bump its count. */
export class EventAggregator {
  private readonly names = new Map<string, { namespace: string; name: string }>();

  remember(key: string, namespace: string, name: string): void {
    this.names.set(key, { namespace, name });
  }

  find(key: string, cache: ObjectCache): KubeObject | undefined {
    const where = this.names.get(key);
    if (!where) return undefined;
    const event = cache.object('events', where.namespace, where.name);
    if (!event) this.names.delete(key);
    return event;
  }

  /** Learns the Events already in the log, so a restarted controller aggregates into them. */
  index(event: KubeObject): void {
    const involved = {
      metadata: { namespace: event.involvedObject?.namespace, uid: event.involvedObject?.uid },
    } as KubeObject;
    const source = { component: event.source?.component ?? '', host: event.source?.host };
    this.remember(
      aggregationKey(involved, event.reason, event.message, source),
      event.metadata.namespace!,
      event.metadata.name!,
    );
  }
}
