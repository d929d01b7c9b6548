export { OpenApiCatalog, groupVersionPath } from './catalog';
export type { OpenApiDocument, OpenApiRoot } from './catalog';
export type { Schema, GroupVersionKind } from './schema';
export { SWAGGER_PROTOBUF_CONTENT_TYPE, SWAGGER_PROTOBUF_MEDIA_TYPE } from './swagger';
export type { SwaggerDocument, SwaggerSchema } from './swagger';
