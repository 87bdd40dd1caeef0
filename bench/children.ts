/** Child processes of the benchmark (servers, load generators), run with tsx and talked to over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Child<T> {
  readonly process: ChildProcess;
  /** The first message the child sends (its `error` field rejects). */
  readonly first: Promise<T>;
  /** Asks the child to stop (`stop` message), kills it if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Forks `bench/<script>` under tsx. `BENCH_CPU_PROF=<dir>` profiles every child (`--cpu-prof`),
 * which is how the time of the server is looked at.
 */
export function forkChild<T>(script: string, args: readonly string[] = [], env: Record<string, string> = {}): Child<T> {
  const file = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const profile = process.env.BENCH_CPU_PROF;
  const execArgv = ['--import', 'tsx', ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [])];
  const child = fork(file, [...args], { execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  // A message to a child that is exiting fails with EPIPE: nothing to do about it but not crash.
  child.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = new Promise<T>((resolve, reject) => {
    child.once('message', (message: T & { error?: string }) => (message.error ? reject(new Error(message.error)) : resolve(message)));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before answering${stderr ? `: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : ''}`)));
  });
  first.catch(() => undefined);
  return {
    process: child,
    first,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send('stop', () => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
