/**
 * Finds the fields of an object that its schema does not declare, for `fieldValidation=Strict`
 * (rejects) and `Warn` (warns). Only field names are judged; value types are the decoder's job.
 */
import { referencedName, Schema } from './schema';

export interface UnknownFieldOptions {
  /**
   * The body is a strategic merge patch: `$patch`, `$retainKeys`, `$setElementOrder/<list>` and
   * `$deleteFromPrimitiveList/<list>` are instructions to the merge, not fields (kubectl apply sends
   * them whenever a keyed list or a retainKeys struct changes).
   */
  strategicMergeDirectives?: boolean;
}

export type SchemaLookup = (componentName: string) => Schema | undefined;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Follows references until a schema that says something itself. */
function resolve(schema: Schema, lookup: SchemaLookup, seen = new Set<string>()): Schema | undefined {
  const name = referencedName(schema);
  if (name === undefined) return schema;
  if (seen.has(name)) return undefined;
  seen.add(name);
  const target = lookup(name);
  return target && resolve(target, lookup, seen);
}

/**
 * JSON paths (`.spec.template.spec.containers[0].bogus`) of the fields in `value` that `schema`
 * does not know. Free-form parts (preserved unknown fields, objects declaring no properties such as
 * RawExtension or FieldsV1) accept anything; maps check each value against their value schema.
 */
export function findUnknownFields(
  schema: Schema,
  value: unknown,
  lookup: SchemaLookup,
  options: UnknownFieldOptions = {},
  path = '',
): string[] {
  const resolved = resolve(schema, lookup);
  if (!resolved || resolved['x-kubernetes-preserve-unknown-fields'] || value === null || value === undefined)
    return [];
  const unknown: string[] = [];
  if (Array.isArray(value)) {
    if (resolved.items) {
      value.forEach((item, index) =>
        unknown.push(...findUnknownFields(resolved.items!, item, lookup, options, `${path}[${index}]`)),
      );
    }
    return unknown;
  }
  if (!isPlainObject(value)) return unknown;
  if (resolved.properties) {
    for (const [field, fieldValue] of Object.entries(value)) {
      if (options.strategicMergeDirectives && field.startsWith('$')) continue;
      const fieldSchema = resolved.properties[field];
      if (fieldSchema)
        unknown.push(...findUnknownFields(fieldSchema, fieldValue, lookup, options, `${path}.${field}`));
      else unknown.push(`${path}.${field}`);
    }
  } else if (resolved.additionalProperties) {
    for (const [key, entry] of Object.entries(value)) {
      unknown.push(
        ...findUnknownFields(resolved.additionalProperties, entry, lookup, options, `${path}.${key}`),
      );
    }
  }
  return unknown;
}
