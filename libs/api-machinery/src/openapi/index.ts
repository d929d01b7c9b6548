export { OpenApiCatalog, groupVersionPath } from './catalog';
export type { OpenApiDocument, OpenApiRoot } from './catalog';
export type { Schema, GroupVersionKind } from './schema';
export { parseFieldValidation, strictDecodingError, unknownFieldWarnings } from './field-validation';
export type { FieldValidation } from './field-validation';
