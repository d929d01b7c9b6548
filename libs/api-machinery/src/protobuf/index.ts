/**
 * The Kubernetes protobuf envelope: the magic `k8s\0`, then a runtime.Unknown whose typeMeta names
 * the apiVersion/kind and whose raw bytes hold the typed message. kubectl sends typed request bodies
 * this way, and kube-apiserver stores built-in objects in etcd the same way.
 */
import { Errors } from '../errors';
import type { KubeObject } from '../object';
import { decodeMessage, encodeMessage, EncodeError } from './codec';
import { messageForKind } from './schema';
import { WireError, WireReader, WireType, WireWriter } from './wire';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export function isKubernetesProtobuf(buf: Buffer): boolean {
  return buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC);
}

export function decodeKubernetesProtobuf(buf: Buffer): KubeObject {
  if (!isKubernetesProtobuf(buf)) {
    throw Errors.badRequest('the protobuf body does not start with the Kubernetes magic number "k8s\\x00"');
  }
  try {
    const envelope = readEnvelope(buf.subarray(MAGIC.length));
    if (envelope.contentEncoding) {
      throw Errors.badRequest(`protobuf content encoding "${envelope.contentEncoding}" is not supported`);
    }
    const descriptor = messageForKind(envelope.apiVersion, envelope.kind);
    if (!descriptor) {
      throw Errors.badRequest(
        envelope.kind
          ? `no kind "${envelope.kind}" is registered for version "${envelope.apiVersion}"`
          : 'the protobuf body does not name its kind',
      );
    }
    const body = decodeMessage(descriptor, envelope.raw);
    return { apiVersion: envelope.apiVersion, kind: envelope.kind, ...body, metadata: metadataOf(body) };
  } catch (error) {
    if (error instanceof WireError)
      throw Errors.badRequest(`the protobuf body is malformed: ${error.message}`);
    throw error;
  }
}

export function encodeKubernetesProtobuf(obj: KubeObject): Buffer {
  const apiVersion = obj.apiVersion ?? '';
  const kind = obj.kind ?? '';
  const descriptor = messageForKind(apiVersion, kind);
  if (!descriptor) throw Errors.badRequest(`no kind "${kind}" is registered for version "${apiVersion}"`);
  let raw: Buffer;
  try {
    raw = encodeMessage(descriptor, obj, '');
  } catch (error) {
    if (error instanceof EncodeError) {
      throw Errors.badRequest(
        `${kind} "${obj.metadata?.name ?? ''}" cannot be encoded as protobuf: ${error.message}`,
      );
    }
    throw error;
  }
  const typeMeta = new WireWriter();
  typeMeta.bytesField(1, Buffer.from(apiVersion, 'utf8'));
  typeMeta.bytesField(2, Buffer.from(kind, 'utf8'));
  const unknown = new WireWriter();
  unknown.bytesField(1, typeMeta.finish());
  unknown.bytesField(2, raw);
  unknown.bytesField(3, Buffer.alloc(0));
  unknown.bytesField(4, Buffer.alloc(0));
  return Buffer.concat([MAGIC, unknown.finish()]);
}

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Buffer;
  contentEncoding: string;
}

function readEnvelope(buf: Buffer): Envelope {
  const envelope: Envelope = { apiVersion: '', kind: '', raw: Buffer.alloc(0), contentEncoding: '' };
  const reader = new WireReader(buf);
  while (!reader.done()) {
    const { fieldNumber, wireType } = reader.tag();
    if (fieldNumber >= 1 && fieldNumber <= 4 && wireType !== WireType.LENGTH_DELIMITED) {
      throw new WireError(
        `envelope field ${fieldNumber} has wire type ${wireType}, expected ${WireType.LENGTH_DELIMITED}`,
      );
    }
    if (fieldNumber === 1) Object.assign(envelope, readTypeMeta(reader.bytes()));
    else if (fieldNumber === 2) envelope.raw = reader.bytes();
    else if (fieldNumber === 3) envelope.contentEncoding = reader.bytes().toString('utf8');
    else reader.skip(wireType);
  }
  return envelope;
}

function readTypeMeta(buf: Buffer): { apiVersion: string; kind: string } {
  const typeMeta = { apiVersion: '', kind: '' };
  const reader = new WireReader(buf);
  while (!reader.done()) {
    const { fieldNumber, wireType } = reader.tag();
    if ((fieldNumber === 1 || fieldNumber === 2) && wireType !== WireType.LENGTH_DELIMITED) {
      throw new WireError(
        `typeMeta field ${fieldNumber} has wire type ${wireType}, expected ${WireType.LENGTH_DELIMITED}`,
      );
    }
    if (fieldNumber === 1) typeMeta.apiVersion = reader.bytes().toString('utf8');
    else if (fieldNumber === 2) typeMeta.kind = reader.bytes().toString('utf8');
    else reader.skip(wireType);
  }
  return typeMeta;
}

function metadataOf(body: Record<string, unknown>): KubeObject['metadata'] {
  const metadata = body.metadata;
  return typeof metadata === 'object' && metadata !== null ? (metadata as KubeObject['metadata']) : {};
}
