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
  const unknown: string[] = [];
  collectUnknownFields(schema, value, lookup, options, path, unknown);
  return unknown;
}

/** One list collects every finding: a body whose fields are all known allocates no arrays. */
function collectUnknownFields(
  schema: Schema,
  value: unknown,
  lookup: SchemaLookup,
  options: UnknownFieldOptions,
  path: string,
  unknown: string[],
): void {
  // Scalars have no fields: their schemas need not be resolved at all.
  if (typeof value !== 'object' || value === null) return;
  const resolved = resolve(schema, lookup);
  if (!resolved || resolved['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    if (resolved.items) {
      for (let index = 0; index < value.length; index++)
        collectUnknownFields(resolved.items, value[index], lookup, options, `${path}[${index}]`, unknown);
    }
    return;
  }
  if (resolved.properties) {
    for (const field of Object.keys(value)) {
      if (options.strategicMergeDirectives && field.startsWith('$')) continue;
      const fieldSchema = resolved.properties[field];
      const fieldValue = (value as Record<string, unknown>)[field];
      if (fieldSchema)
        collectUnknownFields(fieldSchema, fieldValue, lookup, options, `${path}.${field}`, unknown);
      else unknown.push(`${path}.${field}`);
    }
  } else if (resolved.additionalProperties) {
    for (const key of Object.keys(value)) {
      const entry = (value as Record<string, unknown>)[key];
      collectUnknownFields(resolved.additionalProperties, entry, lookup, options, `${path}.${key}`, unknown);
    }
  }
}
