import { connect as tcpConnect, type Socket } from 'node:net';
import { NodeSSH } from 'node-ssh';
import pRetry from 'p-retry';
import { withDeadline } from '../deadline.js';
import { log, say } from '../log.js';
import {
  CommandTimeoutError,
  DEFAULT_TIMEOUT_MS,
  describeCommand,
  shellQuote,
  type Command,
  type ExecOptions,
  type ExecResult,
  type Transport,
} from './transport.js';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  keyFile: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Builds the one string sshd hands to the remote user's shell. sshd joins argv
 * with spaces and the remote shell splits it again, so every piece is quoted
 * here; env goes through `env` because sshd only accepts AcceptEnv names.
 */
export function buildRemoteCommand(command: Command, options: ExecOptions = {}): string {
  const inner = typeof command === 'string' ? ['sh', '-c', command] : [...command];
  if (inner.length === 0) throw new Error('SshTarget.exec: empty argv');
  const envPairs = Object.entries(options.env ?? {}).map(([key, value]) => {
    if (!ENV_NAME.test(key)) throw new Error(`invalid environment variable name: ${key}`);
    return `${key}=${value}`;
  });
  const argv = envPairs.length > 0 ? ['env', ...envPairs, ...inner] : inner;
  const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
  // The remote `timeout` ends the command even if our channel close never arrives;
  // it exits 124 when it fires, and the local timer below turns that into an error.
  const bounded = ['timeout', '--kill-after=2', `${Math.ceil(timeout / 1000)}s`, ...argv];
  const line = shellQuote(bounded);
  return options.cwd === undefined ? line : `cd ${shellQuote([options.cwd])} && ${line}`;
}

/** Runs commands on the lab host over one SSH connection (node-ssh). */
export class SshTransport implements Transport {
  readonly name: string;
  private readonly ssh = new NodeSSH();
  private connected?: Promise<void>;
  /** Our own TCP socket under the session, so close() can drop it: ssh2's destroy() skips a half-closed one. */
  private socket?: Socket;

  constructor(private readonly target: SshTarget) {
    this.name = `ssh ${target.user}@${target.host}:${target.port}`;
  }

  /** Connects, retrying a few times: a freshly booted host may refuse the first tries. */
  async connect(options: { attempts?: number; readyTimeoutMs?: number } = {}): Promise<this> {
    this.connected ??= pRetry(
      () =>
        this.ssh
          .connect({
            host: this.target.host,
            sock: this.openSocket(),
            port: this.target.port,
            username: this.target.user,
            privateKeyPath: this.target.keyFile,
            readyTimeout: options.readyTimeoutMs ?? 20_000,
            // A lab host under TCG can stall for tens of seconds (first boot, guest
            // starts): two minutes of missed keepalives before the link counts as lost.
            keepaliveInterval: 10_000,
            keepaliveCountMax: 12,
            // AES-CTR first: a lab host under TCG has no AES-NI, and this is the
            // cipher it runs fastest there (measured 1.6 MB/s against 1.0 for ChaCha20).
            algorithms: { cipher: ['aes128-ctr', 'aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes256-ctr'] },
          })
          .then(() => {
            // ssh2 emits 'error' (e.g. "Keepalive timeout") on its client; unheard, that
            // kills the process. Heard, the link is dropped and the next exec reconnects.
            const client = this.ssh.connection;
            const drop = (why: string) => {
              log.ssh(`${this.name}: connection lost (${why}); the next command reconnects`);
              this.connected = undefined;
            };
            client?.on('error', (error: Error) => drop(error.message));
            client?.on('close', () => drop('closed'));
          })
          .catch((error: unknown) => {
            // A failed attempt (a bad key fails before ssh2 even reads the socket)
            // must not leave its connection open: the host's sshd would keep a session.
            this.dropSocket();
            throw error;
          }),
      {
        retries: (options.attempts ?? 5) - 1,
        minTimeout: 500,
        maxTimeout: 4_000,
        // Retried, so said: a retry that hides is a flake nobody counts.
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) =>
          say(`${this.name}: connect attempt ${attemptNumber} failed (${error.message}); ${retriesLeft} left`),
      },
    ).catch((error: unknown) => {
      this.connected = undefined;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`${this.name}: cannot connect with key ${this.target.keyFile}: ${reason}`);
    });
    await this.connected;
    return this;
  }

  private openSocket(): Socket {
    this.dropSocket();
    const socket = tcpConnect(this.target.port, this.target.host);
    // ssh2 listens for the socket's errors and reports them; this keeps one that
    // comes before ssh2 listens (a refused connect after a failed key read) from
    // crashing the process.
    socket.on('error', (error) => log.ssh(`${this.name}: socket: ${error.message}`));
    this.socket = socket;
    return socket;
  }

  private dropSocket(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    await this.connect();
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    const line = buildRemoteCommand(command, options);
    log.ssh(`${this.name}: ${line}`);
    const started = performance.now();
    let timedOut = false;
    let channel: { close(): void } | undefined;
    // Collect raw chunks: execCommand's own result trims the output, and a
    // transport must hand back exactly what the command printed.
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const run = this.ssh.execCommand(line, {
      stdin: options.stdin,
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: (chunk) => stderr.push(chunk),
      onChannel: (c) => {
        channel = c;
      },
    });
    // Our own deadline, a little after the remote one, from the start: on a dead
    // link the channel may never open, or never confirm its close (measured: an
    // exec then waited 93 s, until the link came back). So the deadline settles
    // the call itself, and closes the channel as a courtesy.
    const result = await withDeadline(run, timeout + 5_000, () => {
      timedOut = true;
      channel?.close();
      return new CommandTimeoutError(this.name, describeCommand(command), timeout);
    });
    const durationMs = Math.round(performance.now() - started);
    // `timeout` exits 124 (or 137 after --kill-after) when the remote deadline fired.
    if (timedOut || (durationMs >= timeout && (result.code === 124 || result.code === 137))) {
      throw new CommandTimeoutError(this.name, describeCommand(command), timeout);
    }
    return {
      // A null code means the channel closed on a signal: report it as a failure.
      exitCode: result.code ?? 255,
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
      durationMs,
    };
  }

  /** Copies local files to the remote host over SFTP. */
  async putFiles(files: { local: string; remote: string }[]): Promise<void> {
    await this.connect();
    await this.ssh.putFiles(files, { concurrency: 1 });
  }

  /**
   * Ends the session. A polite end (node-ssh's dispose) half-closes the socket and
   * waits for the host's reply; a hung host never sends one, and the open socket
   * then kept the whole process alive (measured: a finished soak that never
   * exited). So the socket is destroyed when the host has not closed it in time.
   */
  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = undefined;
    const socket = this.socket;
    this.socket = undefined;
    const closed = socket && !socket.closed ? new Promise<void>((resolve) => socket.once('close', () => resolve())) : Promise.resolve();
    this.ssh.dispose();
    await withDeadline(closed, CLOSE_GRACE_MS, () => new Error(`no close from the host within ${CLOSE_GRACE_MS} ms`)).catch((error: Error) => {
      log.ssh(`${this.name}: ${error.message}; dropping the socket`);
      socket?.destroy();
    });
  }
}

/** How long close() waits for the host to close the socket before dropping it. */
const CLOSE_GRACE_MS = 2_000;
