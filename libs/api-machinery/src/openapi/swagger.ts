/**
 * `/openapi/v2`: the same schemas as the v3 documents, as one Swagger 2.0 document. kubectl still
 * needs it where v3 does not reach: client-side validation of a `kind: List` file (what `kubectl get
 * -o yaml` writes, so every backup re-applied goes through it) and the patch metadata of
 * `kubectl apply`'s three-way merge. kubectl asks for it only as the gnostic protobuf message
 * `openapi.v2.Document`; no npm package ships that schema, so the few messages kubectl reads are
 * encoded here with the wire writer the Kubernetes codec uses.
 */
import { WireWriter } from '../protobuf/wire';
import { referencedName, Schema } from './schema';

/** What kubectl asks for in Accept. Go's mime parser refuses the `@`, so answers are labelled with the dotted form. */
export const SWAGGER_PROTOBUF_MEDIA_TYPE = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
export const SWAGGER_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

const DEFINITION_REF_PREFIX = '#/definitions/';

export interface SwaggerSchema {
  $ref?: string;
  type?: string;
  format?: string;
  description?: string;
  required?: string[];
  properties?: Record<string, SwaggerSchema>;
  items?: SwaggerSchema;
  additionalProperties?: SwaggerSchema;
  [extension: `x-${string}`]: unknown;
}

export interface SwaggerDocument {
  swagger: '2.0';
  info: { title: string; version: string };
  paths: Record<string, never>;
  definitions: Record<string, SwaggerSchema>;
}

/**
 * One v3 component schema in Swagger 2.0 terms. v2 has no `oneOf` and no `allOf` wrapper around a
 * reference, so those become what kube-apiserver's own v2 document says: a bare `$ref`, and `string`
 * for IntOrString (format `int-or-string`, which kubectl's validation accepts integers for) and
 * Quantity.
 */
export function toSwaggerSchema(schema: Schema): SwaggerSchema {
  const converted: SwaggerSchema = {};
  const referenced = referencedName(schema);
  if (referenced) {
    converted.$ref = DEFINITION_REF_PREFIX + referenced;
  } else if (schema.oneOf) {
    converted.type = 'string';
  } else if (schema.type) {
    converted.type = schema.type;
  }
  if (schema.format) converted.format = schema.format;
  if (schema.description) converted.description = schema.description;
  if (schema.required?.length) converted.required = [...schema.required];
  if (schema.properties) {
    converted.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([name, property]) => [name, toSwaggerSchema(property)]),
    );
  }
  if (schema.items) converted.items = toSwaggerSchema(schema.items);
  if (schema.additionalProperties)
    converted.additionalProperties = toSwaggerSchema(schema.additionalProperties);
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-') && value !== undefined) converted[key as `x-${string}`] = value;
  }
  return converted;
}

// Field numbers of gnostic's openapiv2/OpenAPIv2.proto, for the messages written below.
const DOCUMENT = { swagger: 1, info: 2, paths: 8, definitions: 9 };
const INFO = { title: 1, version: 2 };
const NAMED = { name: 1, value: 2 };
const ANY_YAML = 2;
const SCHEMA = {
  ref: 1,
  format: 2,
  description: 4,
  required: 19,
  additionalProperties: 21,
  type: 22,
  items: 23,
  properties: 25,
  vendorExtension: 31,
};
/** TypeItem.value, ItemsItem.schema, Properties/Definitions.additional_properties, AdditionalPropertiesItem.schema. */
const FIRST_FIELD = 1;

export function encodeSwaggerDocument(document: SwaggerDocument): Buffer {
  const writer = new WireWriter();
  writeString(writer, DOCUMENT.swagger, document.swagger);
  const info = new WireWriter();
  writeString(info, INFO.title, document.info.title);
  writeString(info, INFO.version, document.info.version);
  writer.bytesField(DOCUMENT.info, info.finish());
  writer.bytesField(DOCUMENT.paths, Buffer.alloc(0));
  writer.bytesField(DOCUMENT.definitions, encodeNamedSchemas(document.definitions));
  return writer.finish();
}

function encodeNamedSchemas(schemas: Record<string, SwaggerSchema>): Buffer {
  const writer = new WireWriter();
  for (const [name, schema] of Object.entries(schemas)) {
    const named = new WireWriter();
    writeString(named, NAMED.name, name);
    named.bytesField(NAMED.value, encodeSchema(schema));
    writer.bytesField(FIRST_FIELD, named.finish());
  }
  return writer.finish();
}

function encodeSchema(schema: SwaggerSchema): Buffer {
  const writer = new WireWriter();
  if (schema.$ref) writeString(writer, SCHEMA.ref, schema.$ref);
  if (schema.format) writeString(writer, SCHEMA.format, schema.format);
  if (schema.description) writeString(writer, SCHEMA.description, schema.description);
  for (const field of schema.required ?? []) writeString(writer, SCHEMA.required, field);
  if (schema.additionalProperties) {
    const item = new WireWriter();
    item.bytesField(FIRST_FIELD, encodeSchema(schema.additionalProperties));
    writer.bytesField(SCHEMA.additionalProperties, item.finish());
  }
  if (schema.type) {
    const type = new WireWriter();
    writeString(type, FIRST_FIELD, schema.type);
    writer.bytesField(SCHEMA.type, type.finish());
  }
  if (schema.items) {
    const items = new WireWriter();
    items.bytesField(FIRST_FIELD, encodeSchema(schema.items));
    writer.bytesField(SCHEMA.items, items.finish());
  }
  if (schema.properties) writer.bytesField(SCHEMA.properties, encodeNamedSchemas(schema.properties));
  for (const [name, value] of Object.entries(schema).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!name.startsWith('x-')) continue;
    // Extension values travel as YAML text; JSON is YAML, and keeps lists of GVKs exact.
    const any = new WireWriter();
    writeString(any, ANY_YAML, JSON.stringify(value));
    const named = new WireWriter();
    writeString(named, NAMED.name, name);
    named.bytesField(NAMED.value, any.finish());
    writer.bytesField(SCHEMA.vendorExtension, named.finish());
  }
  return writer.finish();
}

function writeString(writer: WireWriter, field: number, value: string): void {
  writer.bytesField(field, Buffer.from(value, 'utf8'));
}
