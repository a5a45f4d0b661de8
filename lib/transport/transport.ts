import { quote } from 'shell-quote';

/**
 * What to run: an argv array (each element reaches the program as exactly one
 * argument, whatever characters it holds) or a shell script run by `sh -c`.
 * Example: `['virsh', 'dominfo', "a b'c&d"]` or `'virsh list --name | wc -l'`.
 */
export type Command = readonly string[] | string;

export interface ExecOptions {
  /** Milliseconds before the command is killed and `exec` rejects with a CommandTimeoutError. */
  timeout?: number;
  /** Extra environment variables, added to the remote or local default environment. */
  env?: Readonly<Record<string, string>>;
  /** Text written to the command's standard input, which is then closed. */
  stdin?: string;
  /** Working directory of the command. */
  cwd?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * Runs commands on one host: the lab host over SSH, or this machine.
 * Tests hold a Transport and never know which one it is.
 */
export interface Transport {
  /** Short name for logs and reports, e.g. `ssh vagrant@127.0.0.1:2222` or `local`. */
  readonly name: string;
  exec(command: Command, options?: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}

/** Copies files from this machine to given paths on the transport's host (SFTP, or a copy for this machine). */
export type PutFiles = (files: { local: string; remote: string }[]) => Promise<void>;

export const DEFAULT_TIMEOUT_MS = 120_000;

/** The libvirt connection every virsh call of the lab uses, outer and inner. */
export const VIRSH_URI = ['-c', 'qemu:///system'] as const;

export class CommandTimeoutError extends Error {
  constructor(
    readonly transport: string,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${transport}: command timed out after ${timeoutMs}ms: ${command}`);
    this.name = 'CommandTimeoutError';
  }
}

/** Quotes an argv for a POSIX shell so that each element stays one argument. */
export function shellQuote(argv: readonly string[]): string {
  return quote([...argv]);
}

/** A one-line description of a command for error messages and logs. */
export function describeCommand(command: Command): string {
  return typeof command === 'string' ? command : shellQuote(command);
}

/** A failed command as an Error, with its output, for `execOk` and assertions. */
export class CommandFailedError extends Error {
  constructor(
    readonly transport: string,
    readonly command: string,
    readonly result: ExecResult,
  ) {
    const tail = (s: string) => s.trim().split('\n').slice(-20).join('\n');
    const why = result.stderr.trim().split('\n').filter(Boolean).pop() ?? '';
    // First line alone must say what failed and why: CLIs print only that line.
    super(
      `${transport}: exit ${result.exitCode}: ${command}${why ? `: ${why}` : ''}\n` +
        `stdout: ${tail(result.stdout)}\nstderr: ${tail(result.stderr)}`,
    );
    this.name = 'CommandFailedError';
  }
}

/** Runs a command and rejects unless it exits 0; the common case for setup steps. */
export async function execOk(
  transport: Transport,
  command: Command,
  options?: ExecOptions,
): Promise<ExecResult> {
  const result = await transport.exec(command, options);
  if (result.exitCode !== 0) {
    throw new CommandFailedError(transport.name, describeCommand(command), result);
  }
  return result;
}
