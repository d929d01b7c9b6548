import { KubeObject, parseFieldSelector, parseLabelSelector, ResourceType } from '@kubetime/api-machinery';
import { EventStore, StoredEvent } from '@kubetime/event-store';
import { Subscription } from 'rxjs';
import { view } from './resource-store';

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

export interface WatchRequest {
  branch: string;
  type: ResourceType;
  prefix: string;
  /** undefined or 0: start with the current state as ADDED events. */
  fromRevision?: number;
  /** With no fromRevision: the revision whose state the ADDED events show (default: the head). */
  initialRevision?: number;
  labelSelector?: string | null;
  fieldSelector?: string | null;
}

/**
 * A Kubernetes watch over the event stream. Selectors are applied to the object after each change;
 * an object that stops matching leaves the watch as DELETED and one that starts matching enters as
 * ADDED, as the watch cache reports transitions.
 */
export function startWatch(
  events: EventStore,
  request: WatchRequest,
  send: (event: WatchEvent) => void,
  fail: (error: unknown) => void,
): Promise<Subscription> {
  const labels = parseLabelSelector(request.labelSelector);
  const fields = parseFieldSelector(request.fieldSelector, request.type.kind);
  const matches = (o: KubeObject) => labels(o.metadata.labels) && fields(o);
  const visible = new Set<string>();
  // Keys whose membership is known; a resumed watch learns them as events arrive and assumes an
  // unknown object that matches now matched before (the common case of a stable selector).
  const known = new Set<string>();
  return (async () => {
    let from = request.fromRevision ?? 0;
    if (!from) {
      const initial = await events.list(request.branch, request.prefix, request.initialRevision);
      from = initial.revision;
      for (const stored of initial.items) {
        known.add(stored.key);
        const object = view(request.type, stored.object);
        if (!matches(object)) continue;
        visible.add(stored.key);
        send({ type: 'ADDED', object });
      }
    }
    return events.watch(request.branch, from, request.prefix).subscribe({
      next: (event: StoredEvent) => {
        if (!event.key.startsWith(request.prefix)) return;
        const object = view(request.type, event.object);
        const wasKnown = known.has(event.key);
        const before = visible.has(event.key);
        known.add(event.key);
        if (event.type === 'DELETED') {
          visible.delete(event.key);
          if (before || (!wasKnown && matches(object))) send({ type: 'DELETED', object });
        } else if (matches(object)) {
          visible.add(event.key);
          send({ type: event.type === 'ADDED' || (wasKnown && !before) ? 'ADDED' : 'MODIFIED', object });
        } else if (before) {
          visible.delete(event.key);
          send({ type: 'DELETED', object });
        }
      },
      error: fail,
    });
  })();
}
