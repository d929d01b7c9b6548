import type { UserInfo } from '@kubetime/apiserver';

/** What the transport provides for one connection. */
export interface Sink {
  /**
   * Sends one notification. Resolves once the transport can take more, so long streams (a replay at
   * max speed, a snapshot) follow the client's pace instead of piling up in memory.
   */
  send(method: string, params: Record<string, unknown>): Promise<void>;
}

/** Something a session owns that must end with it: a watch, a replay, a transfer. */
export interface Stream {
  readonly id: string;
  readonly kind: 'watch' | 'replay' | 'snapshot.save' | 'snapshot.restore';
  close(): void;
}

/** One authenticated connection: who is asking, where notifications go, and what it has open. */
export class Session {
  private readonly streams = new Map<string, Stream>();
  private counter = 0;
  private deferred: (() => void)[] = [];
  closed = false;

  constructor(
    readonly user: UserInfo,
    readonly sink: Sink,
  ) {}

  nextId(prefix: string): string {
    this.counter += 1;
    return `${prefix}-${this.counter}`;
  }

  add(stream: Stream, limit: number): void {
    if (this.streams.size >= limit)
      throw new Error(`too many open streams on this connection (limit ${limit})`);
    this.streams.set(stream.id, stream);
  }

  get<T extends Stream>(id: string, kind: Stream['kind']): T | undefined {
    const stream = this.streams.get(id);
    return stream?.kind === kind ? (stream as T) : undefined;
  }

  remove(id: string): void {
    this.streams.delete(id);
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Work that must start after the response to the current request is on the wire, so a client
   * always learns a subscription id before the first notification that carries it.
   */
  defer(start: () => void): void {
    this.deferred.push(start);
  }

  /** Called by the transport once it has sent the responses to a message. */
  runDeferred(): void {
    const work = this.deferred;
    this.deferred = [];
    for (const start of work) if (!this.closed) start();
  }

  /** The connection ended: every stream stops. */
  close(): void {
    this.closed = true;
    for (const stream of [...this.streams.values()]) stream.close();
    this.streams.clear();
  }
}
