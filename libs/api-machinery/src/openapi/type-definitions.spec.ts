import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { componentPrefix, INT_OR_STRING, modulePathOf, TypeDefinitions } from './type-definitions';
import { LIST_SEMANTICS } from './list-semantics';
import { RESOURCE_TYPES } from '../registry';

describe('naming', () => {
  it.each([
    ['apps/v1', 'io.k8s.api.apps.v1'],
    ['core/v1', 'io.k8s.api.core.v1'],
    ['rbac/v1', 'io.k8s.api.rbac.v1'],
    ['meta/v1', 'io.k8s.apimachinery.pkg.apis.meta.v1'],
    ['api/resource', 'io.k8s.apimachinery.pkg.api.resource'],
    ['runtime', 'io.k8s.apimachinery.pkg.runtime'],
    ['apiextensions/v1', 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1'],
  ])('%s is named %s', (modulePath, prefix) => {
    expect(componentPrefix(modulePath)).toBe(prefix);
  });

  it.each([
    ['', 'v1', 'core/v1'],
    ['apps', 'v1', 'apps/v1'],
    ['rbac.authorization.k8s.io', 'v1', 'rbac/v1'],
    ['events.k8s.io', 'v1', 'events/v1'],
    ['autoscaling', 'v2', 'autoscaling/v2'],
  ])('group %p version %s lives in %s', (group, version, modulePath) => {
    expect(modulePathOf(group, version)).toBe(modulePath);
  });
});

describe('TypeDefinitions on a package of hand-written declarations', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'kubetime-types-'));
    mkdirSync(join(root, 'widgets'));
    mkdirSync(join(root, 'meta'));
    writeFileSync(
      join(root, 'meta', 'v1.d.ts'),
      [
        '/** Stamp of a moment. */',
        'export type Time = string;',
        '/**',
        ' * Standard metadata.',
        ' *',
        ' * Second paragraph.',
        ' */',
        'export interface ObjectMeta {',
        '    /** The name. */',
        '    name?: string;',
        '    creationTimestamp?: Time;',
        '}',
      ].join('\n'),
    );
    writeFileSync(
      join(root, 'widgets', 'v1.d.ts'),
      [
        'import { ObjectMeta } from "../meta/v1";',
        '/** A widget. */',
        'export interface Widget {',
        '    /** Standard metadata. */',
        '    metadata?: ObjectMeta;',
        '    size: number | string;',
        '    tags?: Array<string>;',
        '    parts?: Part[];',
        '    labels?: { [name: string]: string };',
        '    enabled: boolean;',
        '    kind?: "Widget";',
        '    "odd-name"?: string;',
        '    parent?: Widget;',
        '    blob?: unknown;',
        '}',
        'export interface Part {',
        '    name: string;',
        '}',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('converts every field form the package uses', () => {
    const definitions = new TypeDefinitions(root);
    expect(definitions.define('widgets/v1', 'Widget')).toBe('io.k8s.api.widgets.v1.Widget');
    const widget = definitions.schemas.get('io.k8s.api.widgets.v1.Widget')!;
    expect(widget.description).toBe('A widget.');
    expect(widget.required).toEqual(['enabled', 'size']);
    const p = widget.properties!;
    expect(p.metadata).toEqual({
      allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }],
      description: 'Standard metadata.',
    });
    expect(p.size).toEqual({ $ref: `#/components/schemas/${INT_OR_STRING}` });
    expect(p.tags).toEqual({ type: 'array', items: { type: 'string' } });
    expect(p.parts).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/io.k8s.api.widgets.v1.Part' },
    });
    expect(p.labels).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
    expect(p.enabled).toEqual({ type: 'boolean' });
    expect(p.kind).toEqual({ type: 'string' });
    expect(p['odd-name']).toEqual({ type: 'string' });
    expect(p.parent).toEqual({ $ref: '#/components/schemas/io.k8s.api.widgets.v1.Widget' });
    expect(p.blob).toEqual({ 'x-kubernetes-preserve-unknown-fields': true });
    expect(definitions.schemas.has(INT_OR_STRING)).toBe(true);
  });

  it('keeps multi-line doc comments as paragraphs and gives aliases their format', () => {
    const definitions = new TypeDefinitions(root);
    definitions.define('widgets/v1', 'Widget');
    expect(definitions.schemas.get('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta')!.description).toBe(
      'Standard metadata.\n\nSecond paragraph.',
    );
    expect(definitions.schemas.get('io.k8s.apimachinery.pkg.apis.meta.v1.Time')).toEqual({
      type: 'string',
      format: 'date-time',
      description: 'Stamp of a moment.',
    });
  });

  it('answers undefined for a type or module the package does not have', () => {
    const definitions = new TypeDefinitions(root);
    expect(definitions.define('widgets/v1', 'Gadget')).toBeUndefined();
    expect(definitions.define('gadgets/v1', 'Gadget')).toBeUndefined();
    expect(definitions.schemas.size).toBe(0);
  });

  it('fails loudly when a declaration references a type its module cannot supply', () => {
    writeFileSync(
      join(root, 'widgets', 'v2.d.ts'),
      [
        'import { Missing } from "../meta/v1";',
        'export interface Broken {',
        '    field?: Missing;',
        '}',
      ].join('\n'),
    );
    expect(() => new TypeDefinitions(root).define('widgets/v2', 'Broken')).toThrow(/no Missing in meta\/v1/);
  });

  it('treats an unresolvable bare name as free-form instead of guessing', () => {
    writeFileSync(
      join(root, 'widgets', 'v3.d.ts'),
      ['export interface Loose {', '    field?: Nowhere;', '}'].join('\n'),
    );
    const definitions = new TypeDefinitions(root);
    definitions.define('widgets/v3', 'Loose');
    expect(definitions.schemas.get('io.k8s.api.widgets.v3.Loose')!.properties!.field).toEqual({
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });
});

describe('the installed kubernetes-types package', () => {
  const definitions = TypeDefinitions.fromInstalledPackage();
  for (const type of RESOURCE_TYPES) definitions.define(modulePathOf(type.group, type.version), type.kind);

  it('has every kind kubetime serves', () => {
    const missing = RESOURCE_TYPES.filter(
      (t) => !definitions.define(modulePathOf(t.group, t.version), t.kind),
    );
    expect(missing.map((t) => `${t.group}/${t.version} ${t.kind}`)).toEqual([]);
  });

  it('has every field the list semantics table names', () => {
    const stale = Object.entries(LIST_SEMANTICS).flatMap(([name, fields]) =>
      Object.keys(fields)
        .filter((field) => !definitions.schemas.get(name)?.properties?.[field])
        .map((field) => `${name}.${field}`),
    );
    expect(stale).toEqual([]);
  });
});
