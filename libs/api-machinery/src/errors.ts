/**
 * Every failure the API returns is a metav1.Status. StatusError carries one through plain
 * TypeScript so the HTTP layer only has to serialize it.
 */
import { qualifiedResource, ResourceType } from './registry';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'StatusError';
  }

  toStatus(): Status {
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      code: this.code,
    };
    if (this.reason) status.reason = this.reason;
    if (this.details) status.details = this.details;
    return status;
  }
}

type TypeRef = Pick<ResourceType, 'group' | 'resource'>;

function refDetails(type: TypeRef, name: string): StatusDetails {
  const details: StatusDetails = { name, kind: type.resource };
  if (type.group) details.group = type.group;
  return details;
}

export const Errors = {
  notFound(type: TypeRef, name: string): StatusError {
    return new StatusError(
      404,
      'NotFound',
      `${qualifiedResource(type)} "${name}" not found`,
      refDetails(type, name),
    );
  },
  alreadyExists(type: TypeRef, name: string): StatusError {
    return new StatusError(
      409,
      'AlreadyExists',
      `${qualifiedResource(type)} "${name}" already exists`,
      refDetails(type, name),
    );
  },
  conflict(
    type: TypeRef,
    name: string,
    why = 'the object has been modified; please apply your changes to the latest version and try again',
  ): StatusError {
    return new StatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": ${why}`,
      refDetails(type, name),
    );
  },
  /** 422 with one cause per field, worded as kube-apiserver's field.ErrorList. */
  invalid(kind: string, group: string, name: string, causes: StatusCause[]): StatusError {
    const qualifiedKind = group ? `${kind}.${group}` : kind;
    const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : `${c.message}`));
    const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
    const details: StatusDetails = { name, kind, causes };
    if (group) details.group = group;
    return new StatusError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, details);
  },
  badRequest(message: string, causes?: StatusCause[]): StatusError {
    return new StatusError(400, 'BadRequest', message, causes ? { causes } : undefined);
  },
  methodNotAllowed(message = 'the server does not allow this method on the requested resource'): StatusError {
    return new StatusError(405, 'MethodNotAllowed', message);
  },
  unsupportedMediaType(contentType: string, accepted: string[]): StatusError {
    return new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}` +
        (contentType ? ` (got ${contentType})` : ''),
    );
  },
  notAcceptable(message: string): StatusError {
    return new StatusError(406, 'NotAcceptable', message);
  },
  tooLarge(limitBytes: number): StatusError {
    return new StatusError(
      413,
      'RequestEntityTooLarge',
      `the request body is larger than ${limitBytes} bytes`,
    );
  },
  gone(message: string): StatusError {
    return new StatusError(410, 'Expired', message);
  },
  unauthorized(): StatusError {
    return new StatusError(401, 'Unauthorized', 'Unauthorized');
  },
  forbidden(message: string, details?: StatusDetails): StatusError {
    return new StatusError(403, 'Forbidden', message, details);
  },
  pathNotFound(): StatusError {
    return new StatusError(404, 'NotFound', 'the server could not find the requested resource');
  },
  tooManyRequests(message: string, causes?: StatusCause[]): StatusError {
    return new StatusError(429, 'TooManyRequests', message, causes ? { causes } : undefined);
  },
  internal(message: string): StatusError {
    return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
  },
  serviceUnavailable(message: string): StatusError {
    return new StatusError(503, 'ServiceUnavailable', message);
  },
};

export function successStatus(code = 200, details?: StatusDetails): Status {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code };
  if (details) status.details = details;
  return status;
}
