import { constants } from 'node:os';
import { execa } from 'execa';
import {
  CommandTimeoutError,
  DEFAULT_TIMEOUT_MS,
  describeCommand,
  type Command,
  type ExecOptions,
  type ExecResult,
  type Transport,
} from './transport.js';

/** Runs commands on this machine with execa; used by the `local` provider and by doctor. */
export class LocalTransport implements Transport {
  readonly name = 'local';

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const [file, args] =
      typeof command === 'string' ? ['sh', ['-c', command]] : [command[0], command.slice(1)];
    if (file === undefined) throw new Error('LocalTransport.exec: empty argv');
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    const started = performance.now();
    const child = execa(file, args, {
      reject: false,
      // Its own process group, so a timeout ends the command and all its children
      // (execa's own timeout would kill only the first process).
      detached: true,
      env: options.env,
      extendEnv: true,
      input: options.stdin ?? '',
      cwd: options.cwd,
      stripFinalNewline: false,
    });
    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      // A short grace period, then SIGKILL, so nothing outlives its deadline.
      setTimeout(() => killGroup('SIGKILL'), 2_000).unref();
    }, timeout);
    const result = await child.finally(() => clearTimeout(timer));
    const durationMs = Math.round(performance.now() - started);
    if (timedOut) throw new CommandTimeoutError(this.name, describeCommand(command), timeout);
    const stderr = String(result.stderr ?? '');
    if (result.exitCode === undefined && result.signal !== undefined) {
      // Killed by a signal (not ours): report it as a shell would, 128 + signal number.
      return { exitCode: 128 + (constants.signals[result.signal] ?? 0), stdout: String(result.stdout), stderr, durationMs };
    }
    if (result.exitCode === undefined) {
      // Not started at all (ENOENT, bad cwd): report like a shell would, exit 127.
      return { exitCode: 127, stdout: '', stderr: result.shortMessage ?? 'command could not be started', durationMs };
    }
    return {
      exitCode: result.exitCode,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      durationMs,
    };
  }

  async close(): Promise<void> {}
}
