/**
 * The OpenAPI v3 documents kubetime serves: one per group-version under `/openapi/v3/<gv path>`,
 * plus the root index kubectl reads first. Built once per process from the `kubernetes-types`
 * declarations; the documents never change while the process runs, so their URLs carry a
 * content hash and can be cached forever.
 */
import { createHash } from 'node:crypto';
import { groupVersion, RESOURCE_TYPES, ResourceType, splitApiVersion } from '../registry';
import { applyListSemantics } from './list-semantics';
import { PathItem, resourcePaths } from './operations';
import { GroupVersionKind, referencedName, Schema, schemaRef } from './schema';
import { encodeSwaggerDocument, SwaggerDocument, toSwaggerSchema } from './swagger';
import { modulePathOf, TypeDefinitions } from './type-definitions';
import { findUnknownFields, UnknownFieldOptions } from './unknown-fields';

/** The Kubernetes release whose API kubetime speaks, as kube-apiserver puts it in `info.version`. */
const KUBERNETES_VERSION = 'v1.32.0';

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, Schema> };
}

export interface OpenApiRoot {
  paths: Record<string, { serverRelativeURL: string }>;
}

/** `api/v1` for the core group, `apis/<group>/<version>` otherwise: the key in the root and the URL suffix. */
export function groupVersionPath(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `apis/${groupVersion(type)}` : `api/${type.version}`;
}

function gvkKey(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

/** Every kind a resource type speaks: itself, its list, and the kinds of its subresources. */
function kindsOf(type: ResourceType): GroupVersionKind[] {
  const own = { group: type.group, version: type.version };
  const kinds: GroupVersionKind[] = [{ ...own, kind: type.kind }];
  if (type.verbs.includes('list')) kinds.push({ ...own, kind: `${type.kind}List` });
  for (const sub of type.subresources) {
    kinds.push({ group: sub.group ?? type.group, version: sub.version ?? type.version, kind: sub.kind });
  }
  return kinds;
}

export class OpenApiCatalog {
  private static instance: OpenApiCatalog | undefined;

  private readonly rootIndex: OpenApiRoot = { paths: {} };
  private readonly documents = new Map<string, OpenApiDocument>();
  private readonly kindSchemas = new Map<string, string>();
  /** schemaNameOf's answers by apiVersion, then kind: every write asks it, with the same few pairs. */
  private readonly namesByApiVersion = new Map<string, Map<string, string>>();
  private swaggerDocument?: { json: SwaggerDocument; protobuf: Buffer };

  private constructor(private readonly schemas: Map<string, Schema>) {}

  /** The catalog of this process, built on first use. */
  static load(): OpenApiCatalog {
    OpenApiCatalog.instance ??= OpenApiCatalog.build(TypeDefinitions.fromInstalledPackage());
    return OpenApiCatalog.instance;
  }

  static build(definitions: TypeDefinitions): OpenApiCatalog {
    const kindSchemas = new Map<string, string>();
    for (const type of RESOURCE_TYPES) {
      for (const gvk of kindsOf(type)) {
        if (kindSchemas.has(gvkKey(gvk))) continue;
        const name = definitions.define(modulePathOf(gvk.group, gvk.version), gvk.kind);
        if (name) kindSchemas.set(gvkKey(gvk), name);
      }
    }
    applyListSemantics(definitions.schemas);
    const catalog = new OpenApiCatalog(definitions.schemas);
    for (const [key, name] of kindSchemas) {
      const [group, version, kind] = key.split('/');
      catalog.kindSchemas.set(key, name);
      const schema = definitions.schemas.get(name)!;
      schema['x-kubernetes-group-version-kind'] = [
        ...(schema['x-kubernetes-group-version-kind'] ?? []),
        { group, kind, version },
      ];
    }
    catalog.buildDocuments();
    return catalog;
  }

  root(): OpenApiRoot {
    return this.rootIndex;
  }

  /** The document for `api/v1` or `apis/<group>/<version>`; undefined for group-versions kubetime does not serve. */
  document(path: string): OpenApiDocument | undefined {
    return this.documents.get(path);
  }

  /** `/openapi/v2`: every served kind's schema and what it references, built on first request. */
  swagger(): { json: SwaggerDocument; protobuf: Buffer } {
    if (!this.swaggerDocument) {
      const definitions = Object.fromEntries(
        Object.entries(this.closure(this.kindSchemas.values())).map(([name, schema]) => [
          name,
          toSwaggerSchema(schema),
        ]),
      );
      const json: SwaggerDocument = {
        swagger: '2.0',
        info: { title: 'Kubernetes', version: KUBERNETES_VERSION },
        paths: {},
        definitions,
      };
      this.swaggerDocument = { json, protobuf: encodeSwaggerDocument(json) };
    }
    return this.swaggerDocument;
  }

  /** Component schema name of a kind (`io.k8s.api.apps.v1.Deployment`), if it is one kubetime serves. */
  schemaNameOf(apiVersion: string, kind: string): string | undefined {
    const known = this.namesByApiVersion.get(apiVersion)?.get(kind);
    if (known) return known;
    const name = this.kindSchemas.get(gvkKey({ ...splitApiVersion(apiVersion), kind }));
    // Only served kinds are remembered, so clients naming made-up kinds cannot grow the cache.
    if (name) {
      const byKind = this.namesByApiVersion.get(apiVersion) ?? new Map<string, string>();
      byKind.set(kind, name);
      this.namesByApiVersion.set(apiVersion, byKind);
    }
    return name;
  }

  /**
   * JSON paths of the fields of `obj` its kind's schema does not declare, such as `.spec.bogusField`
   * or `.spec.template.spec.containers[0].bogus`. Empty for kinds with no schema: nothing to judge by.
   */
  unknownFields(apiVersion: string, kind: string, obj: unknown, options: UnknownFieldOptions = {}): string[] {
    const name = this.schemaNameOf(apiVersion, kind);
    if (!name) return [];
    return findUnknownFields(
      { $ref: schemaRef(name) },
      obj,
      (component) => this.schemas.get(component),
      options,
    );
  }

  private buildDocuments(): void {
    const byGroupVersion = new Map<string, ResourceType[]>();
    for (const type of RESOURCE_TYPES) {
      const key = groupVersionPath(type);
      byGroupVersion.set(key, [...(byGroupVersion.get(key) ?? []), type]);
    }
    const operationSchemas = {
      schemaOf: (gvk: GroupVersionKind) => this.kindSchemas.get(gvkKey(gvk)),
      ref: (name: string): Schema => ({ $ref: schemaRef(name) }),
    };
    for (const [key, types] of byGroupVersion) {
      const paths: Record<string, PathItem> = {};
      const roots = new Set<string>();
      for (const type of types) {
        Object.assign(paths, resourcePaths(type, operationSchemas));
        for (const gvk of kindsOf(type)) {
          const name = this.kindSchemas.get(gvkKey(gvk));
          if (name) roots.add(name);
        }
      }
      const document: OpenApiDocument = {
        openapi: '3.0.0',
        info: { title: 'Kubernetes', version: KUBERNETES_VERSION },
        paths,
        components: { schemas: this.closure(roots) },
      };
      this.documents.set(key, document);
      const hash = createHash('sha256')
        .update(JSON.stringify(document))
        .digest('hex')
        .slice(0, 16)
        .toUpperCase();
      this.rootIndex.paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    }
  }

  /** The named schemas and every schema they reference, keyed and sorted by name. */
  private closure(roots: Iterable<string>): Record<string, Schema> {
    const reached = new Set<string>();
    const pending = [...roots];
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (reached.has(name)) continue;
      reached.add(name);
      const schema = this.schemas.get(name);
      if (schema) pending.push(...referencesIn(schema));
    }
    return Object.fromEntries([...reached].sort().map((name) => [name, this.schemas.get(name)!]));
  }
}

function referencesIn(schema: Schema): string[] {
  const found: string[] = [];
  const visit = (node: Schema): void => {
    const name = referencedName(node);
    if (name) found.push(name);
    node.allOf?.forEach(visit);
    if (node.items) visit(node.items);
    if (node.additionalProperties) visit(node.additionalProperties);
    Object.values(node.properties ?? {}).forEach(visit);
  };
  visit(schema);
  return found;
}
