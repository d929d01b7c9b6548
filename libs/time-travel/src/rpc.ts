/**
 * JSON-RPC 2.0 framing for the time-travel API: parsing, error objects and a method table.
 * Transport-free: the server feeds it strings and sends back whatever it returns, so every failure,
 * including malformed input, becomes an error object and the connection stays up.
 */

export const RpcCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Application codes (the -32000..-32099 range JSON-RPC reserves for servers). */
  MessageTooLarge: -32001,
  NotFound: -32002,
  Forbidden: -32003,
  Conflict: -32004,
  Gone: -32005,
  InvalidSnapshot: -32006,
  /** The branch has no controllers (the server runs without them), or its clock cannot do that. */
  Unavailable: -32007,
} as const;

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export type RpcId = string | number | null;

export interface RpcResponse {
  jsonrpc: '2.0';
  id: RpcId;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export interface RpcNotification {
  jsonrpc: '2.0';
  method: string;
  params: Record<string, unknown>;
}

export type Method<S> = (params: Record<string, unknown>, session: S) => Promise<unknown>;

/** Maps errors thrown by methods (and the libraries under them) onto JSON-RPC errors. */
export type ErrorMapper = (error: unknown) => RpcError | undefined;

export class RpcDispatcher<S> {
  private readonly methods = new Map<string, Method<S>>();

  constructor(
    private readonly maxMessageBytes: number,
    private readonly mapError: ErrorMapper,
  ) {}

  register(name: string, method: Method<S>): void {
    this.methods.set(name, method);
  }

  get methodNames(): string[] {
    return [...this.methods.keys()].sort();
  }

  /**
   * One incoming message (a request, a notification or a batch) -> the responses to send, in order.
   * Notifications from the client get no response, as JSON-RPC requires.
   */
  async handle(message: string, session: S): Promise<RpcResponse[]> {
    if (Buffer.byteLength(message, 'utf8') > this.maxMessageBytes) {
      return [
        errorResponse(
          null,
          new RpcError(RpcCodes.MessageTooLarge, `message exceeds ${this.maxMessageBytes} bytes`),
        ),
      ];
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch (error) {
      return [
        errorResponse(null, new RpcError(RpcCodes.ParseError, `parse error: ${(error as Error).message}`)),
      ];
    }
    if (Array.isArray(parsed)) {
      if (!parsed.length) return [errorResponse(null, new RpcError(RpcCodes.InvalidRequest, 'empty batch'))];
      const answers = await Promise.all(parsed.map((entry) => this.one(entry, session)));
      return answers.filter((a): a is RpcResponse => a !== undefined);
    }
    const answer = await this.one(parsed, session);
    return answer ? [answer] : [];
  }

  private async one(request: unknown, session: S): Promise<RpcResponse | undefined> {
    if (!request || typeof request !== 'object' || Array.isArray(request)) {
      return errorResponse(null, new RpcError(RpcCodes.InvalidRequest, 'a request must be a JSON object'));
    }
    const r = request as Record<string, unknown>;
    const hasId = 'id' in r;
    const id = validId(r.id) ? r.id : null;
    if (r.jsonrpc !== '2.0')
      return errorResponse(id, new RpcError(RpcCodes.InvalidRequest, 'jsonrpc must be "2.0"'));
    if (hasId && !validId(r.id))
      return errorResponse(
        null,
        new RpcError(RpcCodes.InvalidRequest, 'id must be a string, a number or null'),
      );
    if (typeof r.method !== 'string')
      return errorResponse(id, new RpcError(RpcCodes.InvalidRequest, 'method must be a string'));
    if (
      r.params !== undefined &&
      (typeof r.params !== 'object' || r.params === null || Array.isArray(r.params))
    ) {
      return errorResponse(
        id,
        new RpcError(RpcCodes.InvalidParams, 'params must be an object (by-name parameters)'),
      );
    }
    const method = this.methods.get(r.method);
    if (!method) {
      return hasId
        ? errorResponse(id, new RpcError(RpcCodes.MethodNotFound, `method not found: ${r.method}`))
        : undefined;
    }
    try {
      const result = await method((r.params as Record<string, unknown>) ?? {}, session);
      return hasId ? { jsonrpc: '2.0', id, result: result ?? null } : undefined;
    } catch (error) {
      return hasId ? errorResponse(id, this.toRpcError(error)) : undefined;
    }
  }

  private toRpcError(error: unknown): RpcError {
    if (error instanceof RpcError) return error;
    return (
      this.mapError(error) ??
      new RpcError(RpcCodes.InternalError, error instanceof Error ? error.message : String(error))
    );
  }
}

function validId(id: unknown): id is RpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

function errorResponse(id: RpcId, error: RpcError): RpcResponse {
  const body: RpcResponse['error'] = { code: error.code, message: error.message };
  if (error.data !== undefined) body.data = error.data;
  return { jsonrpc: '2.0', id, error: body };
}

export function notification(method: string, params: Record<string, unknown>): RpcNotification {
  return { jsonrpc: '2.0', method, params };
}
