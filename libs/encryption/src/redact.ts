import { createHmac } from 'node:crypto';
import { deepClone, KubeObject } from '@kubetime/api-machinery';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
export const MIN_PEPPER_BYTES = 16;

/** Keeps markers from matching HMACs the same pepper might produce for another purpose. */
const MARKER_CONTEXT = 'kubetime secret redaction v1\0';
const FINGERPRINT_HEX_CHARS = 12;

/**
 * Returns a copy of a core v1 Secret whose `data` and `stringData` values, and the copy of them
 * inside the last-applied-configuration annotation, are replaced by markers such as
 * `<redacted hmac:3f9a1c0b7e42 len:12>`. Other objects are returned as they are.
 *
 * A marker shows that a value exists, its size, and whether it changed between versions. It is an
 * HMAC keyed by a pepper only the server holds rather than a plain hash: Secret values are often
 * short or guessable (passwords, tokens with known structure), and a plain hash in a dump or a
 * screenshot could be brute-forced offline. Equal values still get equal markers within one server,
 * and a value in `stringData` gets the same marker as the same bytes in `data`.
 */
export function redactSecret(obj: KubeObject, pepper: Buffer): KubeObject {
  if (pepper.length < MIN_PEPPER_BYTES) {
    throw new RangeError(
      `the redaction pepper must be at least ${MIN_PEPPER_BYTES} bytes, got ${pepper.length}`,
    );
  }
  if (!isCoreSecret(obj)) return obj;
  const redacted = redactPayload(deepClone(obj), pepper);
  const lastApplied = redacted.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
  if (typeof lastApplied === 'string') {
    redacted.metadata.annotations = {
      ...redacted.metadata.annotations,
      [LAST_APPLIED_ANNOTATION]: redactLastApplied(lastApplied, pepper),
    };
  }
  return redacted;
}

/** A Secret's apiVersion may be absent on objects built in memory; anything else named Secret is not core. */
function isCoreSecret(obj: KubeObject): boolean {
  return obj.kind === 'Secret' && (obj.apiVersion === undefined || obj.apiVersion === 'v1');
}

function redactPayload<T extends Record<string, any>>(object: T, pepper: Buffer): T {
  const result: Record<string, any> = { ...object };
  if ('data' in result) result.data = redactValues(result.data, pepper, (v) => Buffer.from(v, 'base64'));
  if ('stringData' in result)
    result.stringData = redactValues(result.stringData, pepper, (v) => Buffer.from(v, 'utf8'));
  return result as T;
}

function redactValues(values: unknown, pepper: Buffer, decode: (value: string) => Buffer): unknown {
  if (values === null || values === undefined) return values;
  // A malformed field is still hidden: whatever it holds is fingerprinted as a whole.
  if (typeof values !== 'object' || Array.isArray(values))
    return marker(Buffer.from(JSON.stringify(values)), pepper);
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [
      name,
      marker(typeof value === 'string' ? decode(value) : Buffer.from(JSON.stringify(value) ?? ''), pepper),
    ]),
  );
}

/**
 * The annotation is the applied manifest as JSON and carries the Secret's values. If it is not a
 * JSON object, where the values sit inside it is unknown, so all of it is replaced.
 */
function redactLastApplied(annotation: string, pepper: Buffer): string {
  let applied: unknown;
  try {
    applied = JSON.parse(annotation);
  } catch {
    return marker(Buffer.from(annotation), pepper);
  }
  if (applied === null || typeof applied !== 'object' || Array.isArray(applied)) {
    return marker(Buffer.from(annotation), pepper);
  }
  const trailingNewline = annotation.endsWith('\n') ? '\n' : '';
  return JSON.stringify(redactPayload(applied as Record<string, unknown>, pepper)) + trailingNewline;
}

function marker(value: Buffer, pepper: Buffer): string {
  const fingerprint = createHmac('sha256', pepper)
    .update(MARKER_CONTEXT)
    .update(value)
    .digest('hex')
    .slice(0, FINGERPRINT_HEX_CHARS);
  return `<redacted hmac:${fingerprint} len:${value.length}>`;
}
