import { VirtualClock } from '@kubetime/controllers';
import type { StoredEvent } from '@kubetime/event-store';
import type { RunningBranch } from './branch-controllers';
import { TimeTravelContext } from './context';
import { compileFilter, type CompiledFilter } from './filter';
import { invalid, Params } from './params';
import { RpcCodes, RpcError } from './rpc';
import type { Session } from './session';
import { eventSubject, eventView, objectSubject, type Redact } from './views';

/** A day of virtual time per call: lease renewals alone are thousands of writes per simulated day. */
export const MAX_CLOCK_SECONDS = 86_400;
/** Wall time one clock call may take before it gives up with an error instead of hanging. */
const SETTLE_TIMEOUT_MS = 120_000;
/** Timer jumps one runUntil may make; a controller that re-arms a zero-delay timer cannot spin forever. */
const MAX_STEPS = 200_000;
const SCAN_BATCH = 2000;

/** clock.advance and clock.runUntil: moving a virtual-clock branch forward and watching what happens. */
export class ClockMethods {
  constructor(private readonly ctx: TimeTravelContext) {}

  async advance(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    await this.ctx.requireWrite(session, 'clock.advance');
    const branch = params.string('branch');
    const seconds = params.optionalNumber('seconds', 0);
    if (seconds === undefined) throw invalid('seconds is required (a number of seconds)');
    if (seconds > MAX_CLOCK_SECONDS) throw invalid(`seconds must be at most ${MAX_CLOCK_SECONDS} per call`);
    const running = await this.virtual(branch);
    return this.ctx.branchControllers!.exclusive(branch, async () => {
      const before = (await this.ctx.events.branch(branch)).revision;
      const from = running.clock.now();
      await advanceTo(running, from.getTime() + seconds * 1000);
      const after = (await this.ctx.events.branch(branch)).revision;
      return {
        branch,
        from: from.toISOString(),
        time: running.clock.now().toISOString(),
        revision: after,
        events: after - before,
      };
    });
  }

  async runUntil(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    await this.ctx.requireWrite(session, 'clock.runUntil');
    const branch = params.string('branch');
    const filter = predicateOf(params);
    const maxSeconds = params.optionalNumber('maxSeconds', 0) ?? 600;
    if (maxSeconds > MAX_CLOCK_SECONDS) throw invalid(`maxSeconds must be at most ${MAX_CLOCK_SECONDS}`);
    const redact = await this.ctx.redactor(session, params, branch);
    const running = await this.virtual(branch);
    return this.ctx.branchControllers!.exclusive(branch, async () => {
      const clock = running.clock as VirtualClock;
      const start = clock.now();
      const limit = start.getTime() + maxSeconds * 1000;
      await running.manager.settle({ timeoutMs: SETTLE_TIMEOUT_MS });
      let scanned = (await this.ctx.events.branch(branch)).revision;
      // The condition may already hold in the state as it is: answer without moving time.
      const holding = await this.holdsInState(branch, scanned, filter, redact);
      if (holding)
        return { ...holding, branch, held: true, time: clock.now().toISOString(), elapsedSeconds: 0 };
      for (let step = 0; step < MAX_STEPS; step++) {
        const due = clock.nextDue();
        const last = !due || due.getTime() > limit;
        if (last) await advanceTo(running, limit);
        else {
          clock.advanceToNext();
          await running.manager.settle({ timeoutMs: SETTLE_TIMEOUT_MS });
        }
        const found = await this.firstMatch(branch, scanned, filter, redact);
        if (found.event) {
          // The event store stamps events with wall time; the branch's own time is its clock's, and
          // every event a step produces happens at the instant the step moved the clock to.
          return {
            branch,
            held: true,
            revision: found.event.revision,
            time: clock.now().toISOString(),
            elapsedSeconds: (clock.now().getTime() - start.getTime()) / 1000,
            event: found.event,
          };
        }
        scanned = found.scannedTo;
        if (last) break;
      }
      const elapsed = (clock.now().getTime() - start.getTime()) / 1000;
      return {
        branch,
        held: false,
        revision: scanned,
        time: clock.now().toISOString(),
        elapsedSeconds: elapsed,
        message: `the predicate did not hold within ${maxSeconds} seconds (virtual clock now ${clock.now().toISOString()}, revision ${scanned})`,
      };
    });
  }

  private async virtual(branch: string): Promise<RunningBranch> {
    const running = await this.ctx.controllersOf(branch);
    if (!(running.clock instanceof VirtualClock)) {
      throw new RpcError(
        RpcCodes.Unavailable,
        `branch "${branch}" runs on the wall clock; fork one with clock "virtual" to move time`,
      );
    }
    return running;
  }

  private async holdsInState(
    branch: string,
    revision: number,
    filter: CompiledFilter,
    redact: Redact,
  ): Promise<{ revision: number; object: unknown } | undefined> {
    for (const item of (await this.ctx.state({ branch, revision })).items) {
      const object = redact(item.object);
      if (filter(objectSubject(object, item.resource))) return { revision, object };
    }
    return undefined;
  }

  private async firstMatch(
    branch: string,
    after: number,
    filter: CompiledFilter,
    redact: Redact,
  ): Promise<{ event?: ReturnType<typeof eventView>; scannedTo: number }> {
    const head = (await this.ctx.events.branch(branch)).revision;
    let scanned = after;
    while (scanned < head) {
      const batch: StoredEvent[] = await this.ctx.events.events(branch, scanned, head, SCAN_BATCH);
      if (!batch.length) break;
      for (const event of batch) {
        const object = redact(event.object);
        if (filter(eventSubject(event, object)))
          return { event: eventView(event, object), scannedTo: event.revision };
      }
      scanned = batch[batch.length - 1].revision;
    }
    return { scannedTo: scanned };
  }
}

/**
 * Folds and reconciles, jumping from timer to timer, until the clock reads `target`: timers due on
 * the way fire in order, and time then stands at the target even when nothing was due there.
 */
export async function advanceTo(running: RunningBranch, target: number): Promise<void> {
  const clock = running.clock as VirtualClock;
  const horizonMs = Math.max(0, target - clock.now().getTime());
  await running.manager.settle({ horizonMs, timeoutMs: SETTLE_TIMEOUT_MS });
  const rest = target - clock.now().getTime();
  if (rest > 0) clock.advance(rest);
  await running.manager.settle({ timeoutMs: SETTLE_TIMEOUT_MS });
}

/** `predicate`: a filter object as history.events takes, or a bare string as its `where`. */
function predicateOf(params: Params): CompiledFilter {
  const value = params.value('predicate');
  if (typeof value === 'string')
    return compileFilter(new Params({ where: value }, 'predicate.'), { events: true });
  const object = params.optionalObject('predicate');
  if (!object) throw invalid('predicate is required (a filter object or a where-expression string)');
  return compileFilter(object, { events: true });
}
