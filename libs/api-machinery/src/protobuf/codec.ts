/**
 * Converts between protobuf messages (as kube-apiserver writes them) and the JSON Go's encoding/json
 * would produce for the same object. proto2 writes empty strings and zero numbers that Go's JSON drops
 * through omitempty, so decoding prunes empty strings, lists, maps and messages, and the zero values
 * of scalars the schema marks as omitempty.
 */
import type { FieldDescriptor, MessageDescriptor, ScalarType, ValueType } from './schema';
import { WireError, WireReader, WireType, WireWriter } from './wire';

type Json = unknown;
type JsonObject = Record<string, Json>;

export class EncodeError extends Error {}

export function decodeMessage(descriptor: MessageDescriptor, buffer: Buffer): JsonObject {
  const fields = new Map<string, Json>();
  const repeated = new Map<string, Json[]>();
  const maps = new Map<string, Map<string, Json>>();
  const inlined = new Map<string, JsonObject>();
  const reader = new WireReader(buffer);
  while (!reader.done()) {
    const { fieldNumber, wireType } = reader.tag();
    const field = descriptor.byNumber.get(fieldNumber);
    if (!field) {
      reader.skip(wireType);
      continue;
    }
    if (field.cardinality === 'map') {
      expectWireType(descriptor, field, wireType, WireType.LENGTH_DELIMITED);
      const [key, value] = decodeMapEntry(descriptor, field, reader.bytes());
      const entries = maps.get(field.name) ?? new Map<string, Json>();
      entries.set(key, value);
      maps.set(field.name, entries);
    } else if (field.cardinality === 'repeated') {
      const values = repeated.get(field.name) ?? [];
      if ('scalar' in field.type && isPackable(field.type.scalar) && wireType === WireType.LENGTH_DELIMITED) {
        const packed = new WireReader(reader.bytes());
        while (!packed.done())
          values.push(readScalar(descriptor, field, field.type.scalar, packed, expectedWireType(field.type)));
      } else {
        values.push(readValue(descriptor, field, field.type, reader, wireType));
      }
      repeated.set(field.name, values);
    } else if (field.inline) {
      expectWireType(descriptor, field, wireType, WireType.LENGTH_DELIMITED);
      inlined.set(field.name, decodeMessage(messageOf(field), reader.bytes()));
    } else {
      fields.set(field.name, readValue(descriptor, field, field.type, reader, wireType));
    }
  }

  const result: JsonObject = {};
  for (const field of descriptor.fields) {
    if (field.inline) {
      Object.assign(result, inlined.get(field.name));
    } else if (field.cardinality === 'map') {
      const entries = maps.get(field.name);
      if (entries?.size) result[field.name] = Object.fromEntries(entries);
    } else if (field.cardinality === 'repeated') {
      const values = repeated.get(field.name);
      if (values?.length) result[field.name] = values;
    } else if (fields.has(field.name)) {
      const value = fields.get(field.name);
      if (!isOmitted(field, value)) result[field.name] = value;
    }
  }
  return result;
}

export function encodeMessage(descriptor: MessageDescriptor, value: Json, path: string): Buffer {
  if (descriptor.special) return encodeSpecial(descriptor, value, path);
  const object = asObject(value, path);
  const writer = new WireWriter();
  for (const field of descriptor.fields) {
    const fieldPath = path ? `${path}.${field.name}` : field.name;
    if (field.inline) {
      const embedded = encodeMessage(messageOf(field), object, path);
      if (embedded.length > 0) writer.bytesField(field.number, embedded);
      continue;
    }
    const fieldValue = Object.hasOwn(object, field.name) ? object[field.name] : undefined;
    if (fieldValue === undefined || fieldValue === null) continue;
    if (field.cardinality === 'repeated') {
      if (!Array.isArray(fieldValue)) throw new EncodeError(`${fieldPath} must be a list`);
      fieldValue.forEach((item, index) =>
        writeValue(writer, field.number, field.type, item, `${fieldPath}[${index}]`),
      );
    } else if (field.cardinality === 'map') {
      const entries = Object.entries(asObject(fieldValue, fieldPath)).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0,
      );
      for (const [key, entryValue] of entries) {
        const entry = new WireWriter();
        entry.bytesField(1, Buffer.from(key, 'utf8'));
        if (entryValue !== null) writeValue(entry, 2, field.type, entryValue, `${fieldPath}[${key}]`);
        writer.bytesField(field.number, entry.finish());
      }
    } else {
      writeValue(writer, field.number, field.type, fieldValue, fieldPath);
    }
  }
  return writer.finish();
}

function isOmitted(field: FieldDescriptor, value: Json): boolean {
  if (value === undefined || value === '') return true;
  if (field.omitZero && (value === 0 || value === false)) return true;
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0
  );
}

function messageOf(field: FieldDescriptor): MessageDescriptor {
  if (!('message' in field.type)) throw new Error(`protobuf schema: ${field.name} is not a message field`);
  return field.type.message;
}

function isPackable(scalar: ScalarType): boolean {
  return scalar !== 'string' && scalar !== 'bytes';
}

function expectedWireType(type: ValueType): number {
  if ('message' in type) return WireType.LENGTH_DELIMITED;
  switch (type.scalar) {
    case 'string':
    case 'bytes':
      return WireType.LENGTH_DELIMITED;
    case 'double':
      return WireType.FIXED64;
    default:
      return WireType.VARINT;
  }
}

function expectWireType(
  descriptor: MessageDescriptor,
  field: FieldDescriptor,
  actual: number,
  expected: number,
): void {
  if (actual !== expected) {
    throw new WireError(
      `field ${field.number} (${field.name}) of ${descriptor.name} has wire type ${actual}, expected ${expected}`,
    );
  }
}

function readValue(
  descriptor: MessageDescriptor,
  field: FieldDescriptor,
  type: ValueType,
  reader: WireReader,
  wireType: number,
): Json {
  expectWireType(descriptor, field, wireType, expectedWireType(type));
  if ('message' in type) return decodeValueMessage(type.message, reader.bytes());
  return readScalar(descriptor, field, type.scalar, reader, wireType);
}

function readScalar(
  descriptor: MessageDescriptor,
  field: FieldDescriptor,
  scalar: ScalarType,
  reader: WireReader,
  wireType: number,
): Json {
  expectWireType(descriptor, field, wireType, expectedWireType({ scalar }));
  switch (scalar) {
    case 'string':
      return reader.bytes().toString('utf8');
    case 'bytes':
      return reader.bytes().toString('base64');
    case 'int32':
      return Number(BigInt.asIntN(32, reader.varint()));
    case 'int64':
      return Number(BigInt.asIntN(64, reader.varint()));
    case 'bool':
      return reader.varint() !== 0n;
    case 'double':
      return reader.fixed64().readDoubleLE(0);
  }
}

function decodeMapEntry(
  descriptor: MessageDescriptor,
  field: FieldDescriptor,
  entry: Buffer,
): [string, Json] {
  const reader = new WireReader(entry);
  let key = '';
  let value: Json = zeroValue(field.type);
  while (!reader.done()) {
    const { fieldNumber, wireType } = reader.tag();
    if (fieldNumber === 1) {
      expectWireType(descriptor, field, wireType, WireType.LENGTH_DELIMITED);
      key = reader.bytes().toString('utf8');
    } else if (fieldNumber === 2) {
      value = readValue(descriptor, field, field.type, reader, wireType);
    } else {
      reader.skip(wireType);
    }
  }
  return [key, value];
}

function zeroValue(type: ValueType): Json {
  if ('message' in type) return decodeValueMessage(type.message, Buffer.alloc(0));
  switch (type.scalar) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

function decodeValueMessage(descriptor: MessageDescriptor, buffer: Buffer): Json {
  switch (descriptor.special) {
    case undefined:
      return decodeMessage(descriptor, buffer);
    case 'Time':
    case 'MicroTime':
      return decodeTimestamp(buffer, descriptor.special === 'MicroTime');
    case 'Quantity':
      return stringField(buffer, 1) || '0';
    case 'IntOrString':
      return decodeIntOrString(buffer);
    case 'RawExtension':
    case 'FieldsV1':
      return decodeEmbeddedJson(buffer, descriptor.special);
    case 'ExtraValue':
      return repeatedStrings(buffer);
  }
}

/** Zero times are written as an empty message; Go renders them as null. */
function decodeTimestamp(buffer: Buffer, micro: boolean): string | null {
  if (buffer.length === 0) return null;
  const reader = new WireReader(buffer);
  let seconds = 0n;
  let nanos = 0;
  while (!reader.done()) {
    const { fieldNumber, wireType } = reader.tag();
    if (fieldNumber === 1 && wireType === WireType.VARINT) seconds = BigInt.asIntN(64, reader.varint());
    else if (fieldNumber === 2 && wireType === WireType.VARINT)
      nanos = Number(BigInt.asIntN(32, reader.varint()));
    else reader.skip(wireType);
  }
  return formatTimestamp(seconds, nanos, micro);
}

const MIN_SECONDS = -62135596800n; // 0001-01-01T00:00:00Z
const MAX_SECONDS = 253402300799n; // 9999-12-31T23:59:59Z

function formatTimestamp(seconds: bigint, nanos: number, micro: boolean): string {
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS || nanos < 0 || nanos > 999_999_999) {
    throw new WireError(`timestamp ${seconds}s ${nanos}ns is outside the years 1-9999`);
  }
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return micro ? `${whole}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${whole}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function parseTimestamp(value: string, path: string): { seconds: bigint; nanos: number } {
  const match = RFC3339.exec(value);
  if (!match) throw new EncodeError(`${path} must be an RFC 3339 time, got ${JSON.stringify(value)}`);
  const [, year, month, day, hour, minute, second, fraction = '', zone] = match;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  let seconds = Math.floor(date.getTime() / 1000);
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    seconds -= sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  }
  const nanos = fraction ? Number(fraction.slice(1).padEnd(9, '0')) : 0;
  return { seconds: BigInt(seconds), nanos };
}

function stringField(buffer: Buffer, wanted: number): string {
  const reader = new WireReader(buffer);
  let result = '';
  while (!reader.done()) {
    const { fieldNumber, wireType } = reader.tag();
    if (fieldNumber === wanted && wireType === WireType.LENGTH_DELIMITED)
      result = reader.bytes().toString('utf8');
    else reader.skip(wireType);
  }
  return result;
}

function repeatedStrings(buffer: Buffer): string[] {
  const reader = new WireReader(buffer);
  const items: string[] = [];
  while (!reader.done()) {
    const { fieldNumber, wireType } = reader.tag();
    if (fieldNumber === 1 && wireType === WireType.LENGTH_DELIMITED)
      items.push(reader.bytes().toString('utf8'));
    else reader.skip(wireType);
  }
  return items;
}

function decodeIntOrString(buffer: Buffer): number | string {
  const reader = new WireReader(buffer);
  let isString = false;
  let intValue = 0;
  let stringValue = '';
  while (!reader.done()) {
    const { fieldNumber, wireType } = reader.tag();
    if (fieldNumber === 1 && wireType === WireType.VARINT) isString = reader.varint() === 1n;
    else if (fieldNumber === 2 && wireType === WireType.VARINT)
      intValue = Number(BigInt.asIntN(32, reader.varint()));
    else if (fieldNumber === 3 && wireType === WireType.LENGTH_DELIMITED)
      stringValue = reader.bytes().toString('utf8');
    else reader.skip(wireType);
  }
  return isString ? stringValue : intValue;
}

function decodeEmbeddedJson(buffer: Buffer, what: string): Json {
  const reader = new WireReader(buffer);
  let raw: Buffer | undefined;
  while (!reader.done()) {
    const { fieldNumber, wireType } = reader.tag();
    if (fieldNumber === 1 && wireType === WireType.LENGTH_DELIMITED) raw = reader.bytes();
    else reader.skip(wireType);
  }
  if (!raw || raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new WireError(`${what} does not hold JSON`);
  }
}

function writeValue(writer: WireWriter, number: number, type: ValueType, value: Json, path: string): void {
  if ('message' in type) {
    writer.bytesField(number, encodeMessage(type.message, value, path));
    return;
  }
  switch (type.scalar) {
    case 'string':
      writer.bytesField(number, Buffer.from(expectType(value, 'string', path), 'utf8'));
      return;
    case 'bytes':
      writer.bytesField(number, Buffer.from(expectType(value, 'string', path), 'base64'));
      return;
    case 'bool':
      writer.varintField(number, expectType(value, 'boolean', path) ? 1n : 0n);
      return;
    case 'double': {
      const encoded = Buffer.alloc(8);
      encoded.writeDoubleLE(expectType(value, 'number', path));
      writer.fixed64Field(number, encoded);
      return;
    }
    case 'int32':
    case 'int64': {
      const integer = expectType(value, 'number', path);
      if (!Number.isInteger(integer)) throw new EncodeError(`${path} must be an integer, got ${integer}`);
      writer.varintField(number, BigInt(integer));
      return;
    }
  }
}

function encodeSpecial(descriptor: MessageDescriptor, value: Json, path: string): Buffer {
  const writer = new WireWriter();
  switch (descriptor.special) {
    case 'Time':
    case 'MicroTime': {
      const { seconds, nanos } = parseTimestamp(expectType(value, 'string', path), path);
      writer.varintField(1, seconds);
      writer.varintField(2, BigInt(descriptor.special === 'Time' ? 0 : Math.floor(nanos / 1000) * 1000));
      break;
    }
    case 'Quantity':
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new EncodeError(`${path} must be a quantity string or number`);
      }
      writer.bytesField(1, Buffer.from(String(value), 'utf8'));
      break;
    case 'IntOrString':
      if (typeof value === 'number' && Number.isInteger(value)) {
        writer.varintField(1, 0n);
        writer.varintField(2, BigInt(value));
        writer.bytesField(3, Buffer.alloc(0));
      } else if (typeof value === 'string') {
        writer.varintField(1, 1n);
        writer.varintField(2, 0n);
        writer.bytesField(3, Buffer.from(value, 'utf8'));
      } else {
        throw new EncodeError(`${path} must be an integer or a string`);
      }
      break;
    case 'RawExtension':
    case 'FieldsV1':
      writer.bytesField(1, Buffer.from(JSON.stringify(value), 'utf8'));
      break;
    case 'ExtraValue':
      if (!Array.isArray(value)) throw new EncodeError(`${path} must be a list of strings`);
      value.forEach((item, index) =>
        writer.bytesField(1, Buffer.from(expectType(item, 'string', `${path}[${index}]`), 'utf8')),
      );
      break;
  }
  return writer.finish();
}

function asObject(value: Json, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EncodeError(`${path || 'the object'} must be an object`);
  }
  return value as JsonObject;
}

function expectType<T extends 'string' | 'number' | 'boolean'>(
  value: Json,
  type: T,
  path: string,
): T extends 'string' ? string : T extends 'number' ? number : boolean {
  if (typeof value !== type) throw new EncodeError(`${path} must be a ${type}, got ${JSON.stringify(value)}`);
  return value as T extends 'string' ? string : T extends 'number' ? number : boolean;
}
