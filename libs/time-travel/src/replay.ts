import type { StoredEvent } from '@kubetime/event-store';
import { TimeTravelContext } from './context';
import { compileFilter, CompiledFilter } from './filter';
import { firstAfter } from './history';
import { invalid, Params } from './params';
import type { Session, Stream } from './session';
import { Body, eventSubject, eventView, Redact, visible } from './views';
import { MAX_STREAMS } from './watch';

const FETCH = 500;
const BACK_WINDOW = 1000;
const MAX_BREAKPOINTS = 32;
const MAX_STEP = 10_000;

type State = 'playing' | 'paused' | 'done' | 'stopped';

interface ReplayOptions {
  branch: string;
  from: number;
  to: number;
  speed: number | 'max';
  maxGapMs: number;
  filter: CompiledFilter;
  breakpoints: CompiledFilter[];
  redact: Redact;
}

/**
 * One replay of a branch's events in (from - 1, to]. `position` is the last revision passed, so the
 * state the client has seen is the state at `position`. Playing paces events by their recorded
 * spacing divided by the speed; pause, step, seek and stop interrupt it at once. Every operation
 * first stops the playing loop and waits for it, so only one of them moves `position` at a time.
 */
class Replay implements Stream {
  readonly kind = 'replay' as const;
  state: State = 'paused';
  position: number;
  private buffer: StoredEvent<Body>[] = [];
  private ahead?: { after: number; page: Promise<StoredEvent<Body>[]> };
  private generation = 0;
  private running?: Promise<void>;
  private wake?: () => void;
  /** Real time and event time of the last paced delivery; spacing is measured from it. */
  private clock?: { real: number; event: number };

  constructor(
    readonly id: string,
    private readonly session: Session,
    private readonly ctx: TimeTravelContext,
    readonly options: ReplayOptions,
  ) {
    this.position = options.from - 1;
  }

  play(): void {
    if (this.state === 'stopped' || this.running) return;
    if (this.position >= this.options.to) {
      this.state = 'done';
      return;
    }
    this.state = 'playing';
    this.clock = undefined;
    const generation = ++this.generation;
    this.running = this.loop(generation)
      .catch((error) =>
        this.notify('replay.error', {
          code: -32000,
          message: error instanceof Error ? error.message : String(error),
        }),
      )
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Stops the playing loop (if any) and waits until it has let go. */
  async halt(next: State): Promise<void> {
    this.generation++;
    if (this.state !== 'stopped') this.state = next;
    this.wake?.();
    await this.running;
  }

  close(): void {
    this.state = 'stopped';
    this.generation++;
    this.wake?.();
  }

  async step(count: number): Promise<number> {
    await this.halt('paused');
    let moved = 0;
    if (count > 0) {
      while (moved < count) {
        const event = await this.next();
        if (!event) break;
        this.position = event.revision;
        if (await this.deliver(event, false)) moved++;
      }
      if (this.position >= this.options.to) await this.notify('replay.done', { position: this.position });
    } else {
      const undone = await this.previousMatches(-count);
      if (undone.length) {
        this.position = undone[undone.length - 1].revision - 1;
        this.buffer = [];
        moved = -undone.length;
        await this.notify('replay.rewound', {
          position: this.position,
          undone: undone.map((e) => eventView(e, undefined)),
        });
      }
    }
    return moved;
  }

  async seek(revision: number): Promise<void> {
    const wasPlaying = this.state === 'playing';
    await this.halt('paused');
    this.position = Math.min(Math.max(revision, this.options.from - 1), this.options.to);
    this.buffer = [];
    await this.notify('replay.seeked', { position: this.position });
    if (wasPlaying) this.play();
  }

  private async loop(generation: number): Promise<void> {
    const { speed, maxGapMs } = this.options;
    while (generation === this.generation) {
      const event = await this.next();
      if (generation !== this.generation) return;
      if (!event) {
        this.state = 'done';
        await this.notify('replay.done', { position: this.position });
        return;
      }
      const object = visible(event.object, this.options.redact);
      const subject = eventSubject(event, object);
      const wanted = this.options.filter(subject);
      if (wanted && speed !== 'max') {
        const time = event.recordedAt.getTime();
        if (this.clock) {
          const due = this.clock.real + Math.min(Math.max(time - this.clock.event, 0) / speed, maxGapMs);
          await this.sleep(due - Date.now());
          if (generation !== this.generation) return;
          this.clock = { real: due, event: time };
        } else this.clock = { real: Date.now(), event: time };
      }
      this.position = event.revision;
      await this.deliver(event, true, { object, subject, wanted });
    }
  }

  /** Sends the event if the filter wants it; pauses on a breakpoint. True when it was sent. */
  private async deliver(
    event: StoredEvent<Body>,
    checkBreakpoints: boolean,
    judged?: { object: Body; subject: ReturnType<typeof eventSubject>; wanted: boolean },
  ): Promise<boolean> {
    const object = judged?.object ?? visible(event.object, this.options.redact);
    const subject = judged?.subject ?? eventSubject(event, object);
    const wanted = judged?.wanted ?? this.options.filter(subject);
    if (wanted)
      await this.notify('replay.event', { position: event.revision, event: eventView(event, object) });
    if (!checkBreakpoints) return wanted;
    const hit = this.options.breakpoints.findIndex((b) => b(subject));
    if (hit >= 0) {
      this.generation++;
      this.state = 'paused';
      await this.notify('replay.paused', {
        position: this.position,
        reason: 'breakpoint',
        breakpoint: { index: hit, ...this.options.breakpoints[hit].description },
        event: eventView(event, object),
      });
    }
    return wanted;
  }

  /** The next event after position (whether or not the filter wants it), or none at the end; not consumed. */
  private async next(): Promise<StoredEvent<Body> | undefined> {
    // Whatever position has passed is consumed; a seek or a step back empties the buffer.
    while (this.buffer.length && this.buffer[0].revision <= this.position) this.buffer.shift();
    if (!this.buffer.length && this.position < this.options.to) {
      const ahead = this.ahead?.after === this.position ? this.ahead.page : this.page(this.position);
      this.ahead = undefined;
      this.buffer = await ahead;
      const last = this.buffer[this.buffer.length - 1];
      // The next page is read while this one is sent: at max speed the database's work and the
      // encoding here overlap instead of taking turns. A seek or step elsewhere just leaves it unused.
      if (last && last.revision < this.options.to) {
        const page = this.page(last.revision);
        page.catch(() => undefined);
        this.ahead = { after: last.revision, page };
      }
    }
    return this.buffer[0];
  }

  /** Bodies come as stored text: most events are sent on without anything looking inside them. */
  private async page(after: number): Promise<StoredEvent<Body>[]> {
    const head = await this.ctx.events.branch(this.options.branch);
    return this.ctx.events.events(
      this.options.branch,
      firstAfter(after, head.compactRevision),
      this.options.to,
      FETCH,
      'raw',
    );
  }

  /** Up to count events the filter wants at or below position, newest first. */
  private async previousMatches(count: number): Promise<StoredEvent<Body>[]> {
    const found: StoredEvent<Body>[] = [];
    const floor = this.options.from - 1;
    const head = await this.ctx.events.branch(this.options.branch);
    let hi = this.position;
    while (found.length < count && hi > floor) {
      const lo = Math.max(floor, hi - BACK_WINDOW, head.compactRevision, 1);
      if (lo >= hi) break;
      const batch = await this.ctx.events.events(this.options.branch, lo, hi, BACK_WINDOW, 'raw');
      for (const event of batch.reverse()) {
        if (found.length >= count) break;
        if (this.options.filter(eventSubject(event, visible(event.object, this.options.redact))))
          found.push(event);
      }
      hi = lo;
    }
    return found;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private notify(method: string, params: Record<string, unknown>): Promise<void> {
    if (this.session.closed) return Promise.resolve();
    return this.session.sink.send(method, { subscription: this.id, ...params });
  }
}

/** replay.start / pause / resume / step / seek / stop. */
export class ReplayMethods {
  constructor(private readonly ctx: TimeTravelContext) {}

  async start(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const branch = params.optionalString('branch') ?? 'main';
    const head = await this.ctx.events.branch(branch);
    const redact = await this.ctx.redactor(session, params, branch);
    const from = params.optionalInteger('from', 1) ?? head.compactRevision + 1;
    const to = params.optionalInteger('to', 1) ?? head.revision;
    if (to > head.revision)
      throw invalid(`to ${to} is newer than the head of branch "${branch}" (${head.revision})`);
    if (from > to) throw invalid(`from ${from} is after to ${to}`);
    const speed = this.speed(raw.speed);
    const breakpointParams = params.list('breakpoints');
    if (breakpointParams.length > MAX_BREAKPOINTS) throw invalid(`at most ${MAX_BREAKPOINTS} breakpoints`);
    const breakpoints = breakpointParams.map((b, i) => {
      if (!b || typeof b !== 'object' || Array.isArray(b))
        throw invalid(`breakpoints[${i}] must be a filter object`);
      return compileFilter(new Params(b as Record<string, unknown>, `breakpoints[${i}].`), { events: true });
    });
    const maxGapSeconds = params.optionalNumber('maxGapSeconds', 0);
    const replay = new Replay(session.nextId('replay'), session, this.ctx, {
      branch,
      from,
      to,
      speed,
      maxGapMs: maxGapSeconds === undefined ? Number.POSITIVE_INFINITY : maxGapSeconds * 1000,
      filter: compileFilter(params.optionalObject('filter'), { events: true }),
      breakpoints,
      redact,
    });
    session.add(replay, MAX_STREAMS);
    if (!params.boolean('paused')) session.defer(() => replay.play());
    return { subscription: replay.id, branch, from, to, speed, position: replay.position };
  }

  async pause(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const replay = this.replay(raw, session);
    if (replay.state === 'playing') await replay.halt('paused');
    return this.status(replay);
  }

  async resume(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const replay = this.replay(raw, session);
    replay.play();
    return this.status(replay);
  }

  async step(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const replay = this.replay(raw, session);
    const params = new Params(raw);
    const count = params.optionalInteger('count', -MAX_STEP, MAX_STEP) ?? 1;
    if (count === 0) throw invalid('count must not be 0');
    const moved = await replay.step(count);
    return { ...this.status(replay), moved };
  }

  async seek(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const replay = this.replay(raw, session);
    await replay.seek(new Params(raw).integer('revision', 0));
    return this.status(replay);
  }

  async stop(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const replay = this.replay(raw, session);
    replay.close();
    session.remove(replay.id);
    return this.status(replay);
  }

  private replay(raw: Record<string, unknown>, session: Session): Replay {
    const id = new Params(raw).string('subscription');
    const replay = session.get<Replay>(id, 'replay');
    if (!replay) throw invalid(`no replay "${id}" on this connection`);
    return replay;
  }

  private status(replay: Replay): Record<string, unknown> {
    return {
      subscription: replay.id,
      state: replay.state,
      position: replay.position,
      from: replay.options.from,
      to: replay.options.to,
    };
  }

  private speed(value: unknown): number | 'max' {
    if (value === undefined || value === null) return 1;
    if (value === 'max') return 'max';
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
    throw invalid('speed must be a positive number (a factor of real time) or "max"');
  }
}
