/**
 * Turns the declarations shipped by the `kubernetes-types` package into OpenAPI v3 component
 * schemas named the way kube-apiserver names them. The package's doc comments carry the upstream
 * field documentation, so `kubectl explain` gets real descriptions without vendoring any spec file.
 * Only parsing is done (no type checking), and only for the modules a requested type reaches.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import * as ts from 'typescript';
import { Schema, schemaRef } from './schema';

export const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

// Written as kube-apiserver's v3 documents write them: alternatives instead of one `type`, which is
// also what makes kubectl explain name the type (`<IntOrString>`) rather than print `<string>`.
const INT_OR_STRING_SCHEMA: Schema = {
  oneOf: [{ type: 'integer' }, { type: 'string' }],
  format: 'int-or-string',
  description:
    'A value that is either a 32-bit integer or a string, as written (for example 3 or "25%"). ' +
    'Fields of this type say in their own description how each form is read.',
};

/** Aliases the package flattens to `string` that the apiserver describes more precisely. */
const ALIAS_SCHEMAS: Record<string, Schema> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': { type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': { type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { oneOf: [{ type: 'string' }, { type: 'number' }] },
};

/** `apps/v1` (a module of the package) -> `io.k8s.api.apps.v1` (the Go package kube-apiserver names schemas after). */
export function componentPrefix(modulePath: string): string {
  const dotted = modulePath.split('/').join('.');
  if (modulePath.startsWith('meta/')) return `io.k8s.apimachinery.pkg.apis.${dotted}`;
  if (modulePath.startsWith('api/')) return `io.k8s.apimachinery.pkg.${dotted}`;
  if (modulePath === 'runtime' || modulePath === 'version') return `io.k8s.apimachinery.pkg.${dotted}`;
  if (modulePath.startsWith('apiextensions/')) return `io.k8s.apiextensions-apiserver.pkg.apis.${dotted}`;
  return `io.k8s.api.${dotted}`;
}

/** Where the package keeps a group's types: the core group under `core`, others under the group's first label. */
export function modulePathOf(group: string, version: string): string {
  return `${group === '' ? 'core' : group.split('.')[0]}/${version}`;
}

type Declaration = ts.InterfaceDeclaration | ts.TypeAliasDeclaration;

interface ParsedModule {
  text: string;
  declarations: Map<string, Declaration>;
  /** Imported name -> module path it comes from. */
  imports: Map<string, string>;
}

export class TypeDefinitions {
  private readonly modules = new Map<string, ParsedModule>();
  readonly schemas = new Map<string, Schema>();

  constructor(private readonly packageRoot: string) {}

  static fromInstalledPackage(): TypeDefinitions {
    return new TypeDefinitions(dirname(require.resolve('kubernetes-types/package.json')));
  }

  /** Converts the named type (and everything it reaches) and returns its component name, or undefined if the package lacks it. */
  define(modulePath: string, typeName: string): string | undefined {
    const module = this.module(modulePath);
    if (!module?.declarations.has(typeName)) return undefined;
    return this.component(modulePath, typeName);
  }

  private module(modulePath: string): ParsedModule | undefined {
    const cached = this.modules.get(modulePath);
    if (cached) return cached;
    let text: string;
    try {
      text = readFileSync(join(this.packageRoot, `${modulePath}.d.ts`), 'utf8');
    } catch {
      return undefined;
    }
    const source = ts.createSourceFile(`${modulePath}.d.ts`, text, ts.ScriptTarget.ES2022, false);
    const parsed: ParsedModule = { text, declarations: new Map(), imports: new Map() };
    for (const statement of source.statements) {
      if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
        parsed.declarations.set(statement.name.text, statement);
      } else if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
        const from = posix.normalize(posix.join(posix.dirname(modulePath), statement.moduleSpecifier.text));
        const bindings = statement.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) {
          for (const element of bindings.elements) parsed.imports.set(element.name.text, from);
        }
      }
    }
    this.modules.set(modulePath, parsed);
    return parsed;
  }

  private component(modulePath: string, typeName: string): string {
    const name = `${componentPrefix(modulePath)}.${typeName}`;
    if (this.schemas.has(name)) return name;
    const module = this.module(modulePath);
    const declaration = module?.declarations.get(typeName);
    if (!module || !declaration) {
      throw new Error(`kubernetes-types has no ${typeName} in ${modulePath}`);
    }
    // Registered before the members are converted so that self-referencing types terminate.
    const schema: Schema = {};
    this.schemas.set(name, schema);
    const description = docComment(module.text, declaration);
    if (ts.isInterfaceDeclaration(declaration)) {
      Object.assign(schema, this.objectSchema(modulePath, module, declaration.members));
    } else {
      Object.assign(schema, ALIAS_SCHEMAS[name] ?? this.typeSchema(modulePath, module, declaration.type));
    }
    if (description) schema.description = description;
    return name;
  }

  private objectSchema(
    modulePath: string,
    module: ParsedModule,
    members: ts.NodeArray<ts.TypeElement>,
  ): Schema {
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const member of members) {
      if (!ts.isPropertySignature(member) || !member.type) continue;
      const fieldName =
        ts.isIdentifier(member.name) || ts.isStringLiteral(member.name) ? member.name.text : undefined;
      if (fieldName === undefined) continue;
      let property = this.typeSchema(modulePath, module, member.type);
      const description = docComment(module.text, member);
      if (description) {
        // OpenAPI 3.0 ignores siblings of $ref, so kube-apiserver wraps described references in allOf.
        property = property.$ref ? { allOf: [property], description } : { ...property, description };
      }
      properties[fieldName] = property;
      if (!member.questionToken) required.push(fieldName);
    }
    const schema: Schema = { type: 'object' };
    if (Object.keys(properties).length > 0) schema.properties = properties;
    if (required.length > 0) schema.required = required.sort();
    return schema;
  }

  private typeSchema(modulePath: string, module: ParsedModule, node: ts.TypeNode): Schema {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return { type: 'string' };
      case ts.SyntaxKind.NumberKeyword:
        return { type: 'integer' };
      case ts.SyntaxKind.BooleanKeyword:
        return { type: 'boolean' };
    }
    if (ts.isLiteralTypeNode(node)) {
      return ts.isStringLiteral(node.literal) ? { type: 'string' } : { type: 'boolean' };
    }
    if (ts.isArrayTypeNode(node)) {
      return { type: 'array', items: this.typeSchema(modulePath, module, node.elementType) };
    }
    if (ts.isUnionTypeNode(node)) {
      const kinds = new Set(node.types.map((t) => t.kind));
      if (
        kinds.size === 2 &&
        kinds.has(ts.SyntaxKind.NumberKeyword) &&
        kinds.has(ts.SyntaxKind.StringKeyword)
      ) {
        this.schemas.set(INT_OR_STRING, INT_OR_STRING_SCHEMA);
        return { $ref: schemaRef(INT_OR_STRING) };
      }
      return { 'x-kubernetes-preserve-unknown-fields': true };
    }
    if (ts.isTypeLiteralNode(node)) {
      const index = node.members.find(ts.isIndexSignatureDeclaration);
      if (index)
        return { type: 'object', additionalProperties: this.typeSchema(modulePath, module, index.type) };
      return this.objectSchema(modulePath, module, node.members);
    }
    if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
      const referenced = node.typeName.text;
      if (referenced === 'Array' && node.typeArguments?.length === 1) {
        return { type: 'array', items: this.typeSchema(modulePath, module, node.typeArguments[0]) };
      }
      const home = module.declarations.has(referenced) ? modulePath : module.imports.get(referenced);
      if (home) return { $ref: schemaRef(this.component(home, referenced)) };
    }
    // Anything the generator has not been seen to emit is accepted as free-form rather than guessed at.
    return { 'x-kubernetes-preserve-unknown-fields': true };
  }
}

/** The text of the JSDoc block right before a declaration, with the comment markers removed. */
export function docComment(text: string, node: ts.Node): string | undefined {
  const ranges = ts.getLeadingCommentRanges(text, node.pos) ?? [];
  const block = [...ranges].reverse().find((r) => text.startsWith('/**', r.pos));
  if (!block) return undefined;
  const body = text.slice(block.pos + 3, block.end - 2);
  const lines = body.split('\n').map((line) => line.replace(/^\s*\* ?/, '').trimEnd());
  const description = lines.join('\n').trim();
  return description || undefined;
}
