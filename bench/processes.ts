import { ChildProcess, spawnSync } from 'child_process';
import { createServer } from 'net';
import { delimiter, join } from 'path';
import { existsSync, readFileSync } from 'fs';
import { sleep } from './harness';

/** A loopback port nobody is listening on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}

export function versionOf(binary: string): string {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000 });
  return (out.stdout ?? '').split('\n')[0]?.trim() ?? '';
}

/** SIGTERM the one child we started, then SIGKILL it if it has not exited within graceMs. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * CPU seconds (user + system) a process has used, from /proc; undefined where there is no /proc or the
 * process is gone. Under a shared, loaded machine CPU per operation is steadier than the rate.
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
