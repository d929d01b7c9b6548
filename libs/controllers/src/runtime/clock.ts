import { Observable } from 'rxjs';

/**
 * Time as controllers see it. Every timer a controller needs (a kubelet's start delay, a grace
 * period, a heartbeat, a progress deadline) goes through `after`, so the same controllers can run
 * on the wall clock in a server or on a virtual clock that jumps from timer to timer in a replay.
 */
export interface Clock {
  now(): Date;
  /** Emits once, then completes, when ms have passed on this clock. */
  after(ms: number): Observable<void>;
}

export class WallClock implements Clock {
  now(): Date {
    return new Date();
  }

  after(ms: number): Observable<void> {
    return new Observable<void>((subscriber) => {
      const timer = setTimeout(
        () => {
          subscriber.next();
          subscriber.complete();
        },
        Math.max(0, ms),
      );
      return () => clearTimeout(timer);
    });
  }
}

interface VirtualTimer {
  due: number;
  /** Creation order breaks ties between timers due at the same instant, so firing order is fixed. */
  order: number;
  fire(): void;
}

/**
 * A clock that only moves when told to. `advanceToNext` jumps straight to the earliest pending timer
 * and fires everything due then, in the order the timers were set: runs are reproducible and take
 * no wall time.
 */
export class VirtualClock implements Clock {
  private current: number;
  private timers: VirtualTimer[] = [];
  private created = 0;

  constructor(start: Date = new Date('2025-01-01T00:00:00Z')) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  after(ms: number): Observable<void> {
    return new Observable<void>((subscriber) => {
      const timer: VirtualTimer = {
        due: this.current + Math.max(0, ms),
        order: this.created++,
        fire: () => {
          subscriber.next();
          subscriber.complete();
        },
      };
      this.timers.push(timer);
      return () => {
        this.timers = this.timers.filter((t) => t !== timer);
      };
    });
  }

  /** When the earliest pending timer is due, or undefined when none is set. */
  nextDue(): Date | undefined {
    const next = this.earliest();
    return next && new Date(next.due);
  }

  /** Moves to the earliest pending timer and fires every timer due at that instant. */
  advanceToNext(): boolean {
    const next = this.earliest();
    if (!next) return false;
    this.advanceTo(new Date(next.due));
    return true;
  }

  /** Moves forward by ms, firing the timers that fall due on the way, in due order. */
  advance(ms: number): void {
    this.advanceTo(new Date(this.current + ms));
  }

  private advanceTo(target: Date): void {
    const until = target.getTime();
    for (let next = this.earliest(); next && next.due <= until; next = this.earliest()) {
      this.current = Math.max(this.current, next.due);
      this.timers = this.timers.filter((t) => t !== next);
      next.fire();
    }
    this.current = Math.max(this.current, until);
  }

  private earliest(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.timers)
      if (!best || t.due < best.due || (t.due === best.due && t.order < best.order)) best = t;
    return best;
  }
}
