import { execFile } from 'child_process';
import { resolve } from 'path';
import { promisify } from 'util';
import { RpcCallError } from '../../apps/cli/src/client';

const run = promisify(execFile);
const CLI = resolve(__dirname, '../../bin/kubetime.js');

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** The kubetime CLI as a user runs it after `npm start`: the built command, the server's kubeconfig. */
export async function runCli(kubeconfig: string, args: string[], timeoutMs = 60_000): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      timeout: timeoutMs,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
  }
}

/** The JSON-RPC error a call is expected to end with; a call that succeeds fails the test. */
export async function rpcFailure(call: Promise<unknown>): Promise<RpcCallError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof RpcCallError) return error;
    throw error;
  }
  throw new Error('the call succeeded');
}
