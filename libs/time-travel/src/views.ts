import { deepClone, RawJson, type KubeObject } from '@kubetime/api-machinery';
import { objectOf, type Body as StoredBody, type StoredEvent } from '@kubetime/event-store';
import { actorKind, type Subject } from './filter';
import { invalid, Params } from './params';

/** Turns an object into what a caller may see: Secrets redacted unless revealing was allowed. */
export type Redact = (object: KubeObject) => KubeObject;

/** A body as a raw read returns it: decoded, or the stored JSON text. */
export type Body = StoredBody<'raw'>;

/**
 * What a caller may see of a body that may still be text. Redaction only changes Secrets, so text
 * that cannot be one (it holds no JSON string "Secret", whatever its spacing) is passed on as it is;
 * anything else is decoded and redacted exactly as a decoded read would be.
 */
export function visible(body: Body, redact: Redact): Body {
  // V8 finds a pattern by scanning for its first character; JSON has a '"' every few bytes and an
  // 'S' seldom, so the bare word rules out nearly every body at a fraction of the cost.
  if (body instanceof RawJson && (!body.text.includes('Secret') || !body.text.includes('"Secret"')))
    return body;
  return redact(objectOf(body));
}

export interface EventView {
  revision: number;
  type: string;
  kind: string;
  apiVersion: string;
  resource: string;
  namespace: string | null;
  name: string;
  uid: string;
  actor: string;
  actorKind: string;
  cause: number | null;
  verb: string | null;
  requestId: string | null;
  time: string;
  object?: Body;
}

/** The subject of an event; a body still as text is decoded only if a filter looks at it. */
export function eventSubject(event: StoredEvent<Body>, object: Body): Subject {
  let decoded: KubeObject | undefined;
  return {
    kind: event.kind,
    resource: event.resource,
    namespace: event.namespace,
    name: event.name,
    get object() {
      return (decoded ??= objectOf(object));
    },
    type: event.type,
    actor: event.actor,
    cause: event.cause,
  };
}

/** The subject of an object at some revision; a body still as text is decoded only if a filter asks. */
export function objectSubject(body: Body, resource: string): Subject {
  let decoded: KubeObject | undefined;
  const object = () => (decoded ??= objectOf(body));
  return {
    get kind() {
      return object().kind ?? '';
    },
    resource,
    get namespace() {
      return object().metadata.namespace ?? null;
    },
    get name() {
      return object().metadata.name ?? '';
    },
    get object() {
      return object();
    },
  };
}

export function eventView(event: StoredEvent<Body>, object: Body | undefined): EventView {
  const view: EventView = {
    revision: event.revision,
    type: event.type,
    kind: event.kind,
    apiVersion: event.group ? `${event.group}/${event.version}` : event.version,
    resource: event.resource,
    namespace: event.namespace,
    name: event.name,
    uid: event.uid,
    actor: event.actor,
    actorKind: actorKind(event.actor, event.cause),
    cause: event.cause,
    verb: event.request?.verb ?? null,
    requestId: event.request?.requestId ?? null,
    time: event.recordedAt.toISOString(),
  };
  if (object) view.object = object;
  return view;
}

export const IGNORABLE = [
  'resourceVersion',
  'managedFields',
  'timestamps',
  'status',
  'uid',
  'generation',
] as const;
export type Ignorable = (typeof IGNORABLE)[number];

export function ignoreList(params: Params): Set<Ignorable> {
  const list = params.stringList('ignore');
  for (const item of list) {
    if (!IGNORABLE.includes(item as Ignorable))
      throw invalid(`${params.field('ignore')}: unknown entry "${item}" (one of ${IGNORABLE.join(', ')})`);
  }
  return new Set(list as Ignorable[]);
}

const CONDITION_TIMES = ['lastTransitionTime', 'lastUpdateTime', 'lastProbeTime', 'lastHeartbeatTime'];

/** A copy without the fields a comparison was told to ignore. */
export function withoutIgnored(object: KubeObject, ignore: Set<Ignorable>): KubeObject {
  if (!ignore.size) return object;
  const copy = deepClone(object);
  const meta = copy.metadata ?? {};
  if (ignore.has('resourceVersion')) delete meta.resourceVersion;
  if (ignore.has('managedFields')) delete meta.managedFields;
  if (ignore.has('uid')) delete meta.uid;
  if (ignore.has('generation')) delete meta.generation;
  if (ignore.has('status')) delete copy.status;
  if (ignore.has('timestamps')) {
    delete meta.creationTimestamp;
    delete meta.deletionTimestamp;
    for (const entry of meta.managedFields ?? []) delete entry.time;
    if (copy.status && typeof copy.status === 'object') {
      delete copy.status.startTime;
      for (const condition of Array.isArray(copy.status.conditions) ? copy.status.conditions : []) {
        for (const field of CONDITION_TIMES) delete condition?.[field];
      }
    }
  }
  return copy;
}
