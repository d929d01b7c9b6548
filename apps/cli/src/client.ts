import { WebSocket } from 'ws';

export interface Connection {
  /** The API server URL from the kubeconfig (`https://HOST:PORT`, possibly with a /branches/... path). */
  server: string;
  token?: string;
  caPem?: string;
  insecure?: boolean;
}

export class RpcCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcCallError';
  }
}

type Handler = (params: Record<string, any>) => void;

/** The WebSocket URL of the time-travel API on the server a kubeconfig names. */
export function timeTravelUrl(server: string): string {
  const url = new URL(server);
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  url.pathname = '/timetravel';
  url.search = '';
  return url.toString();
}

/** A branch (and revision) a kubeconfig context points into, from a `/branches/NAME[/revisions/R]` server path. */
export function scopeOf(server: string): { branch?: string; revision?: number } {
  const m = /^\/branches\/([^/]+)(?:\/revisions\/(\d+))?/.exec(new URL(server).pathname);
  return m ? { branch: decodeURIComponent(m[1]), revision: m[2] ? Number(m[2]) : undefined } : {};
}

/** A JSON-RPC 2.0 client over one WebSocket: calls with ids, notifications dispatched by method. */
export class RpcClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: any): void; reject(error: Error): void }>();
  private readonly handlers = new Map<string, Set<Handler>>();
  private closedWith?: Error;
  private readonly notifications: { method: string; params: Record<string, any> }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.receive(String(data)));
    ws.on('close', (code, reason) =>
      this.fail(new Error(`connection closed (${code}${reason.length ? `: ${reason}` : ''})`)),
    );
    ws.on('error', (error) => this.fail(error));
  }

  static connect(
    connection: Connection,
    options: { protocols?: string[]; headerAuth?: boolean } = {},
  ): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (connection.token && options.headerAuth !== false)
        headers.Authorization = `Bearer ${connection.token}`;
      const ws = new WebSocket(
        timeTravelUrl(connection.server),
        options.protocols ?? ['kubetime.timetravel.v1'],
        {
          headers,
          ca: connection.caPem,
          rejectUnauthorized: !connection.insecure,
          maxPayload: 64 * 1024 * 1024,
        },
      );
      ws.once('open', () => resolve(new RpcClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => {
          let message = body;
          try {
            message = JSON.parse(body).message ?? body;
          } catch {
            // not a Status: keep the raw text
          }
          reject(
            new RpcCallError(
              res.statusCode ?? 0,
              `the server refused the connection: ${res.statusCode} ${message}`.trim(),
            ),
          );
        });
      });
      ws.once('error', reject);
    });
  }

  call<T = any>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /** Sends a raw text frame, for callers that need to send something that is not a well-formed call. */
  sendRaw(text: string): void {
    this.ws.send(text);
  }

  on(method: string, handler: Handler): () => void {
    let set = this.handlers.get(method);
    if (!set) this.handlers.set(method, (set = new Set()));
    set.add(handler);
    return () => set!.delete(handler);
  }

  close(): void {
    this.ws.close(1000);
  }

  /** Replies to raw frames (id null or ids this client did not assign) go to '*response' handlers. */
  private receive(text: string): void {
    let message: any;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    for (const m of Array.isArray(message) ? message : [message]) {
      if (m && typeof m.method === 'string' && m.id === undefined) {
        this.queueNotification(m.method, m.params ?? {});
        continue;
      }
      const waiting = typeof m?.id === 'number' ? this.pending.get(m.id) : undefined;
      if (!waiting) {
        for (const handler of this.handlers.get('*response') ?? []) handler(m);
        continue;
      }
      this.pending.delete(m.id);
      if (m.error) waiting.reject(new RpcCallError(m.error.code, m.error.message, m.error.data));
      else waiting.resolve(m.result);
    }
  }

  /**
   * Notifications are handed out after the code awaiting the response that announced their
   * subscription id has run (several frames can arrive in one tick), in arrival order.
   */
  private queueNotification(method: string, params: Record<string, any>): void {
    this.notifications.push({ method, params });
    if (this.notifications.length > 1) return;
    setImmediate(() => {
      for (let i = 0; i < this.notifications.length; i++) {
        const { method: name, params: p } = this.notifications[i];
        for (const handler of this.handlers.get(name) ?? []) handler(p);
      }
      this.notifications.length = 0;
    });
  }

  private fail(error: Error): void {
    this.closedWith = this.closedWith ?? error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
