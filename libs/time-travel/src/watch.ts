import type { Subscription } from 'rxjs';
import type { StoredEvent } from '@kubetime/event-store';
import { TimeTravelContext } from './context';
import { compileFilter } from './filter';
import { firstAfter } from './history';
import { invalid, Params } from './params';
import type { Session, Stream } from './session';
import { eventSubject, eventView, Redact } from './views';

/** Events waiting for a slow client before its watch is ended rather than held in memory. */
const MAX_BACKLOG = 50_000;
export const MAX_STREAMS = 64;

class WatchStream implements Stream {
  readonly kind = 'watch' as const;
  private subscription?: Subscription;
  private readonly backlog: StoredEvent[] = [];
  private pumping = false;
  private ended = false;

  constructor(
    readonly id: string,
    private readonly session: Session,
    private readonly filter: ReturnType<typeof compileFilter>,
    private readonly redact: Redact,
  ) {}

  start(source: import('rxjs').Observable<StoredEvent>): void {
    this.subscription = source.subscribe({
      next: (event) => {
        if (this.backlog.length >= MAX_BACKLOG)
          return this.end('watch.error', {
            code: -32000,
            message: `the client fell more than ${MAX_BACKLOG} events behind`,
          });
        this.backlog.push(event);
        void this.pump();
      },
      error: (error: unknown) =>
        this.end('watch.error', {
          code: -32000,
          message: error instanceof Error ? error.message : String(error),
        }),
      complete: () =>
        this.end('watch.closed', { reason: 'the branch was deleted or the server is stopping' }),
    });
  }

  close(): void {
    this.ended = true;
    this.subscription?.unsubscribe();
  }

  /** One send at a time, in revision order, at the pace the connection accepts. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.backlog.length && !this.ended) {
        const event = this.backlog.shift()!;
        const object = this.redact(event.object);
        if (!this.filter(eventSubject(event, object))) continue;
        await this.session.sink.send('watch.event', {
          subscription: this.id,
          event: eventView(event, object),
        });
      }
    } finally {
      this.pumping = false;
    }
  }

  private end(method: string, params: Record<string, unknown>): void {
    if (this.ended) return;
    this.close();
    this.session.remove(this.id);
    void this.session.sink.send(method, { subscription: this.id, ...params });
  }
}

/** watch.subscribe / watch.unsubscribe: live events after any revision, filtered, redacted. */
export class WatchMethods {
  constructor(private readonly ctx: TimeTravelContext) {}

  async subscribe(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const branch = params.optionalString('branch') ?? 'main';
    const head = await this.ctx.events.branch(branch);
    const redact = await this.ctx.redactor(session, params, branch);
    const filter = compileFilter(params.optionalObject('filter'), { events: true });
    const from = params.optionalInteger('from', 0) ?? head.revision;
    if (from > head.revision)
      throw invalid(`from ${from} is newer than the head of branch "${branch}" (${head.revision})`);
    const stream = new WatchStream(session.nextId('watch'), session, filter, redact);
    session.add(stream, MAX_STREAMS);
    // Events after `from`: a client resuming after revision N passes N and misses nothing.
    session.defer(() => stream.start(this.ctx.events.watch(branch, firstAfter(from, head.compactRevision))));
    return { subscription: stream.id, branch, from };
  }

  async unsubscribe(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const id = params.string('subscription');
    const stream = session.get(id, 'watch');
    if (!stream) throw invalid(`no watch subscription "${id}" on this connection`);
    stream.close();
    session.remove(id);
    return { subscription: id, closed: true };
  }
}
