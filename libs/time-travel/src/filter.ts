import { parseLabelSelector, type KubeObject } from '@kubetime/api-machinery';
import { parsePredicate, type Predicate } from './predicate';
import { invalid, Params } from './params';

/** What a filter looks at: an event, or an object at some revision (no type, actor or cause then). */
export interface Subject {
  kind: string;
  resource: string;
  namespace: string | null;
  name: string;
  object: KubeObject;
  type?: string;
  actor?: string;
  cause?: number | null;
}

export type ActorKind = 'user' | 'controller';

export interface CompiledFilter {
  (subject: Subject): boolean;
  /** The predicate source, when this filter is a breakpoint that needs naming. */
  description: Record<string, unknown>;
  /** No field was given: every subject passes, so a caller may skip building subjects at all. */
  matchesAll: boolean;
}

const EVENT_TYPES = ['ADDED', 'MODIFIED', 'DELETED'];

/**
 * Controllers are told apart from people by what they record: a controller's write names the
 * revision that made it act (its cause), and the built-in ones run as system identities.
 */
export function actorKind(actor: string, cause: number | null | undefined): ActorKind {
  if (cause !== null && cause !== undefined) return 'controller';
  if (actor === 'system:apiserver' || actor.startsWith('kubetime:')) return 'controller';
  if (/^system:(kube-|serviceaccount:kube-system:|node:)/.test(actor)) return 'controller';
  return 'user';
}

/**
 * The filter language shared by history.events, state.get, diff, watch, replay and breakpoints:
 * every given field must hold. `kind` accepts the kind or the resource name, any case.
 */
export function compileFilter(params: Params | undefined, options: { events: boolean }): CompiledFilter {
  const tests: ((s: Subject) => boolean)[] = [];
  const description: Record<string, unknown> = {};
  if (params) {
    const kind = params.optionalString('kind');
    if (kind) {
      const wanted = kind.toLowerCase();
      tests.push((s) => s.kind.toLowerCase() === wanted || s.resource.toLowerCase() === wanted);
      description.kind = kind;
    }
    const namespace = params.value('namespace');
    if (namespace !== undefined && namespace !== null) {
      if (typeof namespace !== 'string')
        throw invalid(`${params.field('namespace')} must be a string ("" for cluster-scoped objects)`);
      tests.push((s) => (s.namespace ?? '') === namespace);
      description.namespace = namespace;
    }
    const name = params.optionalString('name');
    if (name) {
      tests.push((s) => s.name === name);
      description.name = name;
    }
    const namePrefix = params.optionalString('namePrefix');
    if (namePrefix) {
      tests.push((s) => s.name.startsWith(namePrefix));
      description.namePrefix = namePrefix;
    }
    const labelSelector = params.optionalString('labelSelector');
    if (labelSelector) {
      let matcher: ReturnType<typeof parseLabelSelector>;
      try {
        matcher = parseLabelSelector(labelSelector);
      } catch (error) {
        throw invalid(`${params.field('labelSelector')}: ${(error as Error).message}`);
      }
      tests.push((s) => matcher(s.object.metadata?.labels));
      description.labelSelector = labelSelector;
    }
    const where = params.optionalString('where');
    if (where) {
      let predicate: Predicate;
      try {
        predicate = parsePredicate(where);
      } catch (error) {
        throw invalid(`${params.field('where')}: ${(error as Error).message}`);
      }
      tests.push((s) => predicate(s.object));
      description.where = where;
    }
    const types = typeList(params);
    if (types.length) {
      if (!options.events) throw invalid(`${params.field('type')} only applies to events`);
      tests.push((s) => s.type !== undefined && types.includes(s.type));
      description.type = types;
    }
    const actor = params.optionalString('actor');
    if (actor) {
      if (!options.events) throw invalid(`${params.field('actor')} only applies to events`);
      tests.push((s) => s.actor === actor);
      description.actor = actor;
    }
    const kindOfActor = params.has('actorKind')
      ? params.oneOf<ActorKind>('actorKind', ['user', 'controller'], 'user')
      : undefined;
    if (kindOfActor) {
      if (!options.events) throw invalid(`${params.field('actorKind')} only applies to events`);
      tests.push((s) => s.actor !== undefined && actorKind(s.actor, s.cause) === kindOfActor);
      description.actorKind = kindOfActor;
    }
  }
  const filter = ((s: Subject) => tests.every((t) => t(s))) as CompiledFilter;
  filter.description = description;
  filter.matchesAll = !tests.length;
  return filter;
}

function typeList(params: Params): string[] {
  const raw = params.value('type');
  if (raw === undefined || raw === null) return [];
  const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : undefined;
  if (!list || list.some((t) => typeof t !== 'string' || !EVENT_TYPES.includes(t))) {
    throw invalid(`${params.field('type')} must be one of ${EVENT_TYPES.join(', ')} or a list of them`);
  }
  return list as string[];
}
