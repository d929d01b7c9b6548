import type { IncomingMessage, Server } from 'http';
import type { Duplex } from 'stream';
import { RawData, WebSocket, WebSocketServer } from 'ws';
import { encodeJsonBytes, Errors, StatusError } from '@kubetime/api-machinery';
import type { Authenticator, Authorizer, UserInfo } from '@kubetime/apiserver';
import { MAX_MESSAGE_BYTES, TimeTravelService } from '@kubetime/time-travel';
import type { Logger } from './runtime';

export const TIMETRAVEL_PATH = '/timetravel';
/** The subprotocol a client may ask for; the bearer-token subprotocol only carries credentials. */
export const TIMETRAVEL_PROTOCOL = 'kubetime.timetravel.v1';
const BEARER_PROTOCOL_PREFIX = 'base64url.bearer.authorization.k8s.io.';
/**
 * Frames above MAX_MESSAGE_BYTES still arrive whole, so the API can answer them with an error and
 * keep the connection; only frames above this transport limit close it (close code 1009).
 */
const MAX_FRAME_BYTES = 4 * MAX_MESSAGE_BYTES;
/** Above this many unsent bytes a stream waits for the socket before producing more. */
const HIGH_WATER_BYTES = 1024 * 1024;
const PING_INTERVAL_MS = 30_000;

export interface GatewayDeps {
  service: TimeTravelService;
  authenticator: Authenticator;
  authorizer: Authorizer;
  log: Logger;
  now?: () => Date;
}

/**
 * `wss://HOST:PORT/timetravel` on the API's own HTTPS server: the upgrade is authenticated with the
 * same bearer tokens as the API, from the Authorization header or, for browsers that cannot set
 * headers, from the `base64url.bearer.authorization.k8s.io.<token>` subprotocol as Kubernetes
 * accepts it. Refusals are plain HTTP answers (401/403) before any upgrade.
 */
export class TimeTravelGateway {
  private readonly wss: WebSocketServer;
  private readonly now: () => Date;
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly deps: GatewayDeps) {
    this.now = deps.now ?? (() => new Date());
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_FRAME_BYTES,
      handleProtocols: chooseProtocol,
    });
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.pinger.unref();
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(req, socket, head).catch((error) => {
        this.deps.log.error({ err: error }, 'time-travel upgrade failed');
        refuse(socket, Errors.internal('upgrade failed'));
      });
    });
  }

  /** Ends every connection (a graceful shutdown), so the HTTP server can close. */
  close(): void {
    clearInterval(this.pinger);
    for (const client of this.wss.clients) client.close(1001, 'server shutting down');
    this.wss.close();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = new URL(req.url ?? '/', 'https://kubetime.local').pathname;
    // The Kubernetes API serves no upgrades (exec, port-forward) yet; only the time-travel API does.
    if (path !== TIMETRAVEL_PATH) return refuse(socket, Errors.pathNotFound());
    const token = bearerToken(req);
    const user = token ? this.deps.authenticator.authenticate(`Bearer ${token}`, this.now()) : undefined;
    if (!user) return refuse(socket, Errors.unauthorized());
    if (!(await this.deps.authorizer.authorizePath(user, 'main', TIMETRAVEL_PATH, 'get'))) {
      return refuse(
        socket,
        Errors.forbidden(`forbidden: User "${user.username}" cannot get path "${TIMETRAVEL_PATH}"`),
      );
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, user));
  }

  private connected(ws: WebSocket, user: UserInfo): void {
    const { service, log } = this.deps;
    const alive = { value: true };
    (ws as WebSocket & { kubetimeAlive?: typeof alive }).kubetimeAlive = alive;
    ws.on('pong', () => (alive.value = true));
    const session = service.openSession(user, {
      send: (method, params) => send(ws, { jsonrpc: '2.0', method, params }),
    });
    // Messages are handled one at a time, in order: an upload's chunks, or a step after a start,
    // need the previous request done. Streams run beside this queue.
    let queue = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      const text = isBinary
        ? Buffer.concat(asBuffers(data)).toString('utf8')
        : asBuffers(data)
            .map((b) => b.toString('utf8'))
            .join('');
      queue = queue
        .then(async () => {
          const responses = await service.handle(text, session);
          for (const response of responses) await send(ws, response);
          session.runDeferred();
        })
        .catch((error) => log.warn({ err: error }, 'time-travel message failed'));
    });
    ws.on('close', () => session.close());
    ws.on('error', (error) => log.debug({ err: error }, 'time-travel socket error'));
  }

  private ping(): void {
    for (const client of this.wss.clients) {
      const alive = (client as WebSocket & { kubetimeAlive?: { value: boolean } }).kubetimeAlive;
      if (alive && !alive.value) {
        client.terminate();
        continue;
      }
      if (alive) alive.value = false;
      client.ping();
    }
  }
}

/** Prefers the API's own subprotocol; a browser that offered only the token gets that one back, as it requires one. */
function chooseProtocol(protocols: Set<string>): string | false {
  if (protocols.has(TIMETRAVEL_PROTOCOL)) return TIMETRAVEL_PROTOCOL;
  for (const protocol of protocols) if (protocol.startsWith(BEARER_PROTOCOL_PREFIX)) return protocol;
  return false;
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (header) return header[1];
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const carrier = offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
  if (!carrier) return undefined;
  const encoded = carrier.slice(BEARER_PROTOCOL_PREFIX.length);
  return /^[A-Za-z0-9_-]+$/.test(encoded) ? Buffer.from(encoded, 'base64url').toString('utf8') : undefined;
}

function send(ws: WebSocket, message: unknown): Promise<void> {
  if (ws.readyState !== WebSocket.OPEN) return Promise.resolve();
  // Past states and replays carry bodies as stored JSON text (RawJson), written out as they are,
  // straight into the bytes the socket takes. They are JSON text, so they go in a text frame. The
  // server offers no permessage-deflate, so nothing is compressed on the way.
  const data = encodeJsonBytes(message);
  if (ws.bufferedAmount < HIGH_WATER_BYTES) {
    ws.send(data, { binary: false });
    return Promise.resolve();
  }
  return new Promise((resolve) => ws.send(data, { binary: false }, () => resolve()));
}

function refuse(socket: Duplex, error: StatusError): void {
  const body = JSON.stringify(error.toStatus());
  const reason =
    { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[error.code] ?? 'Internal Server Error';
  socket.end(
    `HTTP/1.1 ${error.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function asBuffers(data: RawData): Buffer[] {
  if (Array.isArray(data)) return data;
  return [Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)];
}
