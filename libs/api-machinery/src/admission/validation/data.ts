/** Secrets and ConfigMaps: key names, size, typed secrets, and the `immutable` switch. */
import { Causes, FieldError, FieldPath, isEqual } from '../field-errors';
import { configKeyProblems } from '../name-rules';

type Json = Record<string, any>;

/** Both are stored whole in etcd, so upstream caps them at 1 MiB. */
export const MAX_DATA_SIZE = 1024 * 1024;

function validateKeys(map: Json | undefined, path: FieldPath): Causes {
  const causes: Causes = [];
  for (const key of Object.keys(map ?? {})) {
    for (const problem of configKeyProblems(key)) causes.push(FieldError.invalid(path, key, problem));
  }
  return causes;
}

function decodedSize(value: unknown): number {
  return Buffer.from(String(value), 'base64').length;
}

/** The keys each built-in secret type must carry. */
const REQUIRED_SECRET_KEYS: Record<string, string[]> = {
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
};

export function validateSecret(secret: Json): Causes {
  const dataPath = FieldPath.root('data');
  const data: Json = secret.data ?? {};
  const causes = validateKeys(data, dataPath);
  const size = Object.values(data).reduce((sum: number, v) => sum + decodedSize(v), 0);
  if (size > MAX_DATA_SIZE) causes.push(FieldError.tooLong(dataPath, MAX_DATA_SIZE));
  for (const key of REQUIRED_SECRET_KEYS[secret.type] ?? []) {
    if (data[key] === undefined) causes.push(FieldError.required(dataPath.key(key)));
  }
  if (
    secret.type === 'kubernetes.io/service-account-token' &&
    !secret.metadata?.annotations?.['kubernetes.io/service-account.name']
  ) {
    causes.push(
      FieldError.required(
        FieldPath.root('metadata').child('annotations').key('kubernetes.io/service-account.name'),
      ),
    );
  }
  if (
    secret.type === 'kubernetes.io/basic-auth' &&
    data.username === undefined &&
    data.password === undefined
  ) {
    causes.push(FieldError.required(dataPath.key('username'), 'either username or password is required'));
  }
  return causes;
}

export function validateConfigMap(configMap: Json): Causes {
  const causes = [
    ...validateKeys(configMap.data, FieldPath.root('data')),
    ...validateKeys(configMap.binaryData, FieldPath.root('binaryData')),
  ];
  for (const key of Object.keys(configMap.data ?? {})) {
    if (configMap.binaryData?.[key] !== undefined) {
      causes.push(
        FieldError.invalid(FieldPath.root('data').key(key), key, 'duplicate of key present in binaryData'),
      );
    }
  }
  const size =
    Object.entries(configMap.data ?? {}).reduce(
      (sum, [k, v]) => sum + k.length + Buffer.byteLength(String(v)),
      0,
    ) +
    Object.entries(configMap.binaryData ?? {}).reduce((sum, [k, v]) => sum + k.length + decodedSize(v), 0);
  if (size > MAX_DATA_SIZE) causes.push(FieldError.tooLong('', MAX_DATA_SIZE));
  return causes;
}

const IMMUTABLE_SET = 'field is immutable when `immutable` is set';

function immutableData(obj: Json, old: Json, fields: string[]): Causes {
  if (old.immutable !== true) return [];
  const causes: Causes = [];
  if (obj.immutable !== true) causes.push(FieldError.forbidden('immutable', IMMUTABLE_SET));
  for (const field of fields) {
    if (!isEqual(obj[field] ?? {}, old[field] ?? {})) causes.push(FieldError.forbidden(field, IMMUTABLE_SET));
  }
  return causes;
}

export function validateSecretUpdate(secret: Json, old: Json): Causes {
  const causes: Causes = [];
  if ((secret.type ?? 'Opaque') !== (old.type ?? 'Opaque'))
    causes.push(FieldError.immutable('type', secret.type ?? ''));
  return [...causes, ...immutableData(secret, old, ['data'])];
}

export function validateConfigMapUpdate(configMap: Json, old: Json): Causes {
  return immutableData(configMap, old, ['data', 'binaryData']);
}
