/** The subset of OpenAPI v3 schema objects kubetime writes for the built-in types. */
export interface Schema {
  $ref?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema;
  'x-kubernetes-group-version-kind'?: GroupVersionKind[];
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export const SCHEMA_REF_PREFIX = '#/components/schemas/';

export function schemaRef(name: string): string {
  return SCHEMA_REF_PREFIX + name;
}

export function refName(ref: string): string {
  return ref.startsWith(SCHEMA_REF_PREFIX) ? ref.slice(SCHEMA_REF_PREFIX.length) : ref;
}

/** The component a property points at, whether written as a bare $ref or as the v3 `allOf: [$ref]` wrapper. */
export function referencedName(schema: Schema): string | undefined {
  if (schema.$ref) return refName(schema.$ref);
  if (schema.allOf?.length === 1 && schema.allOf[0].$ref) return refName(schema.allOf[0].$ref);
  return undefined;
}
