export { OpenApiCatalog, groupVersionPath } from './catalog';
export type { OpenApiDocument, OpenApiRoot } from './catalog';
export type { Schema, GroupVersionKind } from './schema';
