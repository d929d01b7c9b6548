import { KubeObject } from '@kubetime/api-machinery';
import { redactSecret } from './redact';

const PEPPER = Buffer.alloc(32, 5);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const MARKER = /^<redacted hmac:[0-9a-f]{12} len:\d+>$/;

function secret(overrides: Partial<KubeObject> = {}): KubeObject {
  const data = {
    password: Buffer.from('hunter2').toString('base64'),
    user: Buffer.from('admin').toString('base64'),
  };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'db',
      namespace: 'default',
      labels: { app: 'db' },
      annotations: {
        [LAST_APPLIED]:
          JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data }) + '\n',
        note: 'kept',
      },
    },
    type: 'Opaque',
    data,
    ...overrides,
  };
}

describe('redactSecret', () => {
  it('replaces every data value with a marker showing presence and decoded length', () => {
    const redacted = redactSecret(secret(), PEPPER);
    expect(Object.keys(redacted.data)).toEqual(['password', 'user']);
    expect(redacted.data.password).toMatch(MARKER);
    expect(redacted.data.password).toContain('len:7');
    expect(redacted.data.user).toContain('len:5');
    expect(redacted.type).toBe('Opaque');
    expect(redacted.metadata.labels).toEqual({ app: 'db' });
    expect(redacted.metadata.annotations!.note).toBe('kept');
  });

  it('hides the values inside last-applied-configuration and keeps it valid JSON', () => {
    const original = secret();
    const redacted = redactSecret(original, PEPPER);
    const annotation = redacted.metadata.annotations![LAST_APPLIED];
    expect(annotation).not.toContain(original.data.password);
    expect(annotation.endsWith('\n')).toBe(true);
    const applied = JSON.parse(annotation);
    expect(applied.metadata).toEqual({ name: 'db' });
    expect(applied.data.password).toBe(redacted.data.password);
  });

  it('replaces a last-applied annotation that is not a JSON object as a whole', () => {
    for (const annotation of ['{not json', '"a string"', '[1]']) {
      const obj = secret();
      obj.metadata.annotations![LAST_APPLIED] = annotation;
      expect(redactSecret(obj, PEPPER).metadata.annotations![LAST_APPLIED]).toMatch(MARKER);
    }
  });

  it('gives equal values equal markers, across data and stringData, and different values different ones', () => {
    const obj = secret({
      data: { a: Buffer.from('same').toString('base64'), b: Buffer.from('same').toString('base64') },
      stringData: { c: 'same', d: 'other' },
    });
    const redacted = redactSecret(obj, PEPPER);
    expect(redacted.data.a).toBe(redacted.data.b);
    expect(redacted.stringData.c).toBe(redacted.data.a);
    expect(redacted.stringData.d).not.toBe(redacted.data.a);
  });

  it('changes markers with the pepper, so a dump cannot be matched against guessed values elsewhere', () => {
    const withOtherPepper = redactSecret(secret(), Buffer.alloc(32, 6));
    expect(withOtherPepper.data.password).not.toBe(redactSecret(secret(), PEPPER).data.password);
  });

  it('does not modify its input', () => {
    const original = secret();
    const copy = structuredClone(original);
    redactSecret(original, PEPPER);
    expect(original).toEqual(copy);
  });

  it('still hides malformed data fields', () => {
    const redacted = redactSecret(secret({ data: 'aHVudGVyMg==', stringData: { n: 42 } }), PEPPER);
    expect(redacted.data).toMatch(MARKER);
    expect(redacted.stringData.n).toMatch(MARKER);
    const nulls = redactSecret(secret({ data: null }), PEPPER);
    expect(nulls.data).toBeNull();
  });

  it('redacts a Secret without apiVersion but passes other objects through untouched', () => {
    const bare = secret();
    delete bare.apiVersion;
    expect(redactSecret(bare, PEPPER).data.password).toMatch(MARKER);

    const configMap: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { k: 'v' },
    };
    expect(redactSecret(configMap, PEPPER)).toBe(configMap);
    const lookalike: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { k: 'v' },
    };
    expect(redactSecret(lookalike, PEPPER)).toBe(lookalike);
  });

  it('handles a Secret with no data and no annotations', () => {
    const empty: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'empty' } };
    expect(redactSecret(empty, PEPPER)).toEqual(empty);
  });

  it('rejects a pepper too short to stop offline guessing', () => {
    expect(() => redactSecret(secret(), Buffer.alloc(8))).toThrow(
      'the redaction pepper must be at least 16 bytes, got 8',
    );
  });
});
