import { Writable } from 'stream';
import { createLogger } from './logger';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes JSON lines with the level threshold applied and child bindings inherited', () => {
    const out = capture();
    const log = createLogger('info', out.stream);
    log.debug('hidden');
    log.child({ component: 'watch' }).info({ resource: 'pods' }, 'opened');
    const [line, ...rest] = out.lines();
    expect(rest).toHaveLength(0);
    expect(line).toMatchObject({
      level: 30,
      component: 'watch',
      resource: 'pods',
      msg: 'opened',
      pid: process.pid,
    });
    expect(typeof line.time).toBe('string');
  });

  it('logs nothing when silent', () => {
    const out = capture();
    createLogger('silent', out.stream).fatal('nothing');
    expect(out.lines()).toHaveLength(0);
  });
});
