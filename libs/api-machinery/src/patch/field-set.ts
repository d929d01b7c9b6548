/**
 * Sets of field paths in the vocabulary of managedFields (FieldsV1): `f:<field>` for a map
 * field, `k:{"name":"nginx"}` for a keyed list item, `v:<json>` for a set member. A path in the
 * set is owned as a whole; FieldsV1 marks an owned path that also has owned children with `.`.
 */
import { isJsonObject, JsonObject, deepEqual } from './json-values';
import { childSchema, FieldSchema, MapSchema } from './schema';

export type FieldPath = readonly string[];

/** JSON text escapes every control character, so NUL never occurs inside an element. */
const SEPARATOR = '\u0000';
const SELF = '.';

export class FieldSet implements Iterable<FieldPath> {
  private readonly encoded: Set<string>;

  constructor(paths: Iterable<FieldPath> = []) {
    this.encoded = new Set([...paths].map((p) => p.join(SEPARATOR)));
  }

  get size(): number {
    return this.encoded.size;
  }

  has(path: FieldPath): boolean {
    return this.encoded.has(path.join(SEPARATOR));
  }

  /** Whether the path or anything beneath it is in the set. */
  hasAtOrBelow(path: FieldPath): boolean {
    const prefix = path.join(SEPARATOR);
    for (const p of this.encoded) if (p === prefix || p.startsWith(prefix + SEPARATOR)) return true;
    return false;
  }

  union(other: FieldSet): FieldSet {
    return new FieldSet([...this, ...other]);
  }

  difference(other: FieldSet): FieldSet {
    return new FieldSet([...this].filter((p) => !other.has(p)));
  }

  intersection(other: FieldSet): FieldSet {
    return new FieldSet([...this].filter((p) => other.has(p)));
  }

  /** This set without the given paths and anything beneath them. */
  withoutSubtrees(roots: FieldSet): FieldSet {
    return new FieldSet([...this].filter((p) => !p.some((_, i) => roots.has(p.slice(0, i + 1)))));
  }

  *[Symbol.iterator](): Iterator<FieldPath> {
    for (const p of this.encoded) yield p.split(SEPARATOR);
  }

  toFieldsV1(): JsonObject {
    const root: JsonObject = {};
    for (const path of this) {
      let node = root;
      for (const element of path) node = (node[element] ??= {}) as JsonObject;
      node[SELF] = {};
    }
    return tidy(root);
  }

  static fromFieldsV1(fieldsV1: unknown): FieldSet {
    const paths: FieldPath[] = [];
    const visit = (node: unknown, path: string[]) => {
      if (!isJsonObject(node)) return;
      const children = Object.keys(node).filter((k) => k !== SELF);
      if (path.length && (SELF in node || children.length === 0)) paths.push(path);
      for (const child of children) visit(node[child], [...path, child]);
    };
    visit(fieldsV1, []);
    return new FieldSet(paths);
  }
}

/** Leaves are written `{}`, and `.` only where an owned path also has children; keys sorted. */
function tidy(node: JsonObject): JsonObject {
  const children = Object.keys(node)
    .filter((k) => k !== SELF)
    .sort();
  if (children.length === 0) return {};
  const result: JsonObject = SELF in node ? { [SELF]: {} } : {};
  for (const child of children) result[child] = tidy(node[child] as JsonObject);
  return result;
}

export function fieldElement(name: string): string {
  return `f:${name}`;
}

export function keyElement(mergeKey: string, value: unknown): string {
  return `k:${JSON.stringify({ [mergeKey]: value })}`;
}

export function valueElement(value: unknown): string {
  return `v:${JSON.stringify(value)}`;
}

/**
 * Every path a value sets: leaves (primitives, atomic lists, empty maps), keyed list items
 * and set members, so ownership can be tracked at the granularity upstream uses.
 */
export function fieldSetOf(value: JsonObject, schema: MapSchema): FieldSet {
  const paths: FieldPath[] = [];
  const walk = (node: unknown, nodeSchema: FieldSchema, path: string[]) => {
    if (isJsonObject(node) && nodeSchema.type === 'map') {
      const entries = Object.entries(node);
      if (entries.length === 0 && path.length) paths.push(path);
      for (const [field, child] of entries)
        walk(child, childSchema(nodeSchema, field), [...path, fieldElement(field)]);
      return;
    }
    if (Array.isArray(node) && node.length && nodeSchema.type === 'keyedList') {
      for (const item of node) {
        if (!isJsonObject(item) || !(nodeSchema.mergeKey in item)) continue;
        const itemPath = [...path, keyElement(nodeSchema.mergeKey, item[nodeSchema.mergeKey])];
        paths.push(itemPath);
        for (const [field, child] of Object.entries(item)) {
          walk(child, childSchema(nodeSchema.item, field), [...itemPath, fieldElement(field)]);
        }
      }
      return;
    }
    if (Array.isArray(node) && node.length && nodeSchema.type === 'set') {
      for (const member of node) paths.push([...path, valueElement(member)]);
      return;
    }
    paths.push(path);
  };
  walk(value, schema, []);
  return new FieldSet(paths);
}

function step(
  container: unknown,
  element: string,
): { found: true; value: unknown; index: number | string } | { found: false } {
  const body = element.slice(2);
  if (element.startsWith('f:')) {
    return isJsonObject(container) && body in container
      ? { found: true, value: container[body], index: body }
      : { found: false };
  }
  if (!Array.isArray(container)) return { found: false };
  const parsed: unknown = JSON.parse(body);
  const index = element.startsWith('k:')
    ? container.findIndex(
        (item) =>
          isJsonObject(item) &&
          isJsonObject(parsed) &&
          Object.entries(parsed).every(([k, v]) => deepEqual(item[k], v)),
      )
    : container.findIndex((item) => deepEqual(item, parsed));
  return index < 0 ? { found: false } : { found: true, value: container[index], index };
}

/** The value at a path, or undefined when the object has nothing there (JSON has no undefined). */
export function valueAt(root: unknown, path: FieldPath): unknown {
  let current: unknown = root;
  for (const element of path) {
    const next = step(current, element);
    if (!next.found) return undefined;
    current = next.value;
  }
  return current;
}

/**
 * Removes the path from `root` in place. Containers below the top level that the removal empties
 * go too, as Go's omitempty would drop them when the object is written back.
 */
export function removePath(root: JsonObject, path: FieldPath): void {
  const chain: { container: unknown; index: number | string }[] = [];
  let current: unknown = root;
  for (const element of path) {
    const next = step(current, element);
    if (!next.found) return;
    chain.push({ container: current, index: next.index });
    current = next.value;
  }
  for (let depth = chain.length - 1; depth >= 0; depth--) {
    const { container, index } = chain[depth];
    if (Array.isArray(container)) container.splice(index as number, 1);
    else delete (container as JsonObject)[index as string];
    const emptied = Array.isArray(container)
      ? container.length === 0
      : Object.keys(container as JsonObject).length === 0;
    if (depth < 2 || !emptied) return;
  }
}

/** `.spec.template.spec.containers[name="nginx"].image`, as conflicts are reported. */
export function describePath(path: FieldPath): string {
  return path
    .map((element) => {
      const body = element.slice(2);
      if (element.startsWith('f:')) return `.${body}`;
      if (element.startsWith('k:')) {
        const key = JSON.parse(body) as JsonObject;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return `[=${body}]`;
    })
    .join('');
}
