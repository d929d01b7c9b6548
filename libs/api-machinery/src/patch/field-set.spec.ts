import { describePath, FieldSet, removePath, valueAt } from './field-set';

describe('FieldSet', () => {
  const fieldsV1 = {
    'f:metadata': { 'f:finalizers': { '.': {}, 'v:"a"': {} }, 'f:labels': { 'f:app': {} } },
    'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {} } } },
  };

  it('reads and writes FieldsV1, marking owned parents with "."', () => {
    const set = FieldSet.fromFieldsV1(fieldsV1);
    expect(set.size).toBe(5);
    expect(set.has(['f:metadata', 'f:finalizers'])).toBe(true);
    expect(set.has(['f:metadata', 'f:labels'])).toBe(false);
    expect(set.toFieldsV1()).toEqual(fieldsV1);
  });

  it('answers ownership at or below a path and drops whole subtrees', () => {
    const set = FieldSet.fromFieldsV1(fieldsV1);
    expect(set.hasAtOrBelow(['f:spec'])).toBe(true);
    expect(set.hasAtOrBelow(['f:status'])).toBe(false);
    const trimmed = set.withoutSubtrees(new FieldSet([['f:spec', 'f:containers', 'k:{"name":"nginx"}']]));
    expect(trimmed.hasAtOrBelow(['f:spec'])).toBe(false);
  });

  it('ignores FieldsV1 that is not an object', () => {
    expect(FieldSet.fromFieldsV1('f:spec').size).toBe(0);
  });
});

describe('paths over objects', () => {
  const object = () => ({
    metadata: { finalizers: ['a', 'b'] },
    spec: {
      template: { spec: { containers: [{ name: 'nginx', image: 'x' }], nodeSelector: { disk: 'ssd' } } },
    },
  });

  it('finds values through keyed items and set members', () => {
    expect(
      valueAt(object(), ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:image']),
    ).toBe('x');
    expect(valueAt(object(), ['f:metadata', 'f:finalizers', 'v:"b"'])).toBe('b');
    expect(valueAt(object(), ['f:metadata', 'f:finalizers', 'v:"c"'])).toBeUndefined();
    expect(valueAt(object(), ['f:spec', 'f:missing', 'f:deeper'])).toBeUndefined();
  });

  it('removes a path and the nested containers it empties, but not top-level fields', () => {
    const target = object();
    removePath(target, ['f:spec', 'f:template', 'f:spec', 'f:nodeSelector', 'f:disk']);
    expect(target.spec.template.spec).toEqual({ containers: [{ name: 'nginx', image: 'x' }] });
    removePath(target, ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"nginx"}']);
    expect(target.spec).toEqual({});
    removePath(target, ['f:metadata', 'f:finalizers', 'v:"a"']);
    expect(target.metadata.finalizers).toEqual(['b']);
  });

  it('describes paths the way conflicts name them', () => {
    expect(
      describePath(['f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:ports', 'k:{"containerPort":80}']),
    ).toBe('.spec.containers[name="nginx"].ports[containerPort=80]');
    expect(describePath(['f:metadata', 'f:finalizers', 'v:"a"'])).toBe('.metadata.finalizers[="a"]');
  });
});
