/** What kube-apiserver answers for unknown fields under each `fieldValidation` directive. */
import { Errors, StatusError } from '../errors';
import { splitApiVersion } from '../registry';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

const DIRECTIVES: readonly FieldValidation[] = ['Ignore', 'Warn', 'Strict'];

/** The directive of a request; an absent parameter means Warn, anything unrecognised is a 400 as upstream. */
export function parseFieldValidation(value: string | undefined): FieldValidation {
  if (value === undefined || value === '') return 'Warn';
  if ((DIRECTIVES as readonly string[]).includes(value)) return value as FieldValidation;
  throw Errors.badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${value}"`);
}

/** `.spec.bogus` (as unknownFields reports it) -> `unknown field "spec.bogus"` (as clients are told). */
function unknownFieldMessage(path: string): string {
  return `unknown field "${path.replace(/^\./, '')}"`;
}

/** The 400 for Strict: `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ...`. */
export function strictDecodingError(apiVersion: string, kind: string, unknownFields: string[]): StatusError {
  const { version } = splitApiVersion(apiVersion);
  const reasons = unknownFields.map(unknownFieldMessage).join(', ');
  return Errors.badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: strict decoding error: ${reasons}`);
}

/** One `Warning` header text per unknown field, for Warn. */
export function unknownFieldWarnings(unknownFields: string[]): string[] {
  return unknownFields.map(unknownFieldMessage);
}
