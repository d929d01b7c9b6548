import { findUnknownFields } from './unknown-fields';
import { Schema } from './schema';

const components: Record<string, Schema> = {
  Loop: { $ref: '#/components/schemas/Loop' },
  Item: { type: 'object', properties: { name: { type: 'string' } } },
};
const lookup = (name: string) => components[name];

describe('findUnknownFields', () => {
  it('gives up quietly on references that lead nowhere or in circles', () => {
    expect(findUnknownFields({ $ref: '#/components/schemas/Missing' }, { a: 1 }, lookup)).toEqual([]);
    expect(findUnknownFields({ $ref: '#/components/schemas/Loop' }, { a: 1 }, lookup)).toEqual([]);
  });

  it('reports map entries and array items under their key and index', () => {
    const schema: Schema = {
      type: 'object',
      properties: {
        byName: { type: 'object', additionalProperties: { allOf: [{ $ref: '#/components/schemas/Item' }] } },
        list: { type: 'array', items: { $ref: '#/components/schemas/Item' } },
      },
    };
    const value = { byName: { first: { name: 'a', x: 1 } }, list: [{ name: 'b' }, { y: 2 }] };
    expect(findUnknownFields(schema, value, lookup)).toEqual(['.byName.first.x', '.list[1].y']);
  });

  it('accepts anything under preserve-unknown-fields and in objects declaring no fields', () => {
    expect(
      findUnknownFields({ 'x-kubernetes-preserve-unknown-fields': true }, { a: { b: 1 } }, lookup),
    ).toEqual([]);
    expect(findUnknownFields({ type: 'object' }, { a: { b: 1 } }, lookup)).toEqual([]);
  });

  it('ignores scalars and arrays where an object is expected', () => {
    const item = { $ref: '#/components/schemas/Item' };
    expect(findUnknownFields(item, 'text', lookup)).toEqual([]);
    expect(findUnknownFields(item, [{ bogus: 1 }], lookup)).toEqual([]);
    expect(findUnknownFields({ type: 'array', items: item }, { bogus: 1 }, lookup)).toEqual([]);
  });
});
