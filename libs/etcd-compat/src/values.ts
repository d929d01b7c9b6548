import {
  decodeKubernetesProtobuf,
  findResourceTypeByKind,
  isKubernetesProtobuf,
  KubeObject,
  splitApiVersion,
  storageTypeOf,
} from '@kubetime/api-machinery';
import type { BodyTransformer } from '@kubetime/event-store';

const ENCRYPTED = Buffer.from('k8s:enc:');

/** An etcd value read back as the object kube-apiserver stored, with where it belongs in the log. */
export interface DecodedValue {
  object: KubeObject;
  group: string;
  version: string;
  resource: string;
  /** For a value kept as it was stored (undecodable): see WriteIntent.stored. */
  stored?: { sealed: Buffer } | { raw: Buffer };
}

/** Why a value cannot become an event; the import reports these per key instead of guessing. */
export class UndecodableValue extends Error {}

/**
 * Decodes one etcd value under a `/registry/...` key the three ways kube-apiserver writes them:
 * JSON (CRDs, and built-ins with `--storage-media-type=application/json`), the `k8s\0` protobuf
 * envelope (built-ins by default), and either of those sealed as `k8s:enc:<provider>:v1:<key>:`,
 * which opens only with this store's encryption configuration (AAD = the etcd key, as kube-apiserver).
 */
export function decodeEtcdValue(key: string, value: Buffer, bodies: BodyTransformer): DecodedValue {
  let plain = value;
  if (startsWith(value, ENCRYPTED)) {
    const label = value
      .subarray(0, Math.min(value.length, 64))
      .toString('latin1')
      .split(':')
      .slice(0, 5)
      .join(':');
    if (!bodies.describe(value).encrypted) {
      throw new UndecodableValue(`encrypted (${label}) and kubetime has no encryption configuration for it`);
    }
    try {
      plain = bodies.open(value, key);
    } catch (error) {
      throw new UndecodableValue(`encrypted (${label}) and cannot be opened: ${(error as Error).message}`);
    }
  }
  const object = parseObject(plain);
  if (!object.apiVersion || !object.kind)
    throw new UndecodableValue('the object names no apiVersion and kind');
  if (!object.metadata?.name) throw new UndecodableValue('the object has no metadata.name');
  const { resourceVersion: _stripped, ...metadata } = object.metadata;
  return { object: { ...object, metadata }, ...placeOf(key, object.apiVersion, object.kind) };
}

function parseObject(plain: Buffer): KubeObject {
  if (isKubernetesProtobuf(plain)) {
    try {
      return decodeKubernetesProtobuf(plain);
    } catch (error) {
      throw new UndecodableValue(
        `Kubernetes protobuf that kubetime cannot decode: ${(error as Error).message}`,
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(plain.toString('utf8'));
  } catch {
    throw new UndecodableValue(
      `neither JSON nor Kubernetes protobuf (starts with 0x${plain.subarray(0, 8).toString('hex')})`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UndecodableValue('JSON that is not an object');
  }
  return parsed as KubeObject;
}

/**
 * Group, version and resource of the stored object. Built-ins come from the registry's storage view;
 * other kinds (custom resources) keep the key's own segment, which kube-apiserver lays out as
 * `/registry/<group>/<resource>/...`.
 */
export function placeOf(key: string, apiVersion: string, kind: string): Omit<DecodedValue, 'object'> {
  const known = findResourceTypeByKind(apiVersion, kind);
  if (known) {
    const storage = storageTypeOf(known);
    return { group: storage.group, version: storage.version, resource: storage.resource };
  }
  const { group, version } = splitApiVersion(apiVersion);
  const segments = key.split('/');
  const resource = group && segments[2] === group ? segments[3] : segments[2];
  return { group, version, resource: resource ?? '' };
}

function startsWith(value: Buffer, prefix: Buffer): boolean {
  return value.length >= prefix.length && value.subarray(0, prefix.length).equals(prefix);
}
