import pino, { DestinationStream, Logger } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout, for log collectors rather than people; `pino-pretty` can be piped in by hand.
 * Tests pass a destination to capture the lines.
 */
export function createLogger(level: string, destination: DestinationStream = pino.destination(1)): Logger {
  return pino({ level, timestamp: pino.stdTimeFunctions.isoTime, base: { pid: process.pid } }, destination);
}
