import { AsyncLocalStorage } from 'node:async_hooks';
import { describeCommand, type Command, type ExecOptions, type ExecResult, type Transport } from './transport.js';

export class InterruptedError extends Error {
  constructor(reason: string, command: string) {
    super(`${reason}: not running ${command}`);
    this.name = 'InterruptedError';
  }
}

/**
 * A transport that can be closed to everything but cleanup. On Ctrl-C the test
 * that is running goes on until Mocha is stopped; once the gate is closed its
 * next command (a guest it is about to define, a backup) fails at once instead
 * of creating something the cleanup has already passed. Cleanup runs inside
 * `exempt()`, and every command started from there (however deep) still runs.
 */
export class GatedTransport implements Transport {
  private closedBecause?: string;
  private readonly cleanup = new AsyncLocalStorage<true>();

  constructor(readonly inner: Transport) {}

  get name(): string {
    return this.inner.name;
  }

  /** Why the gate was shut, or undefined while it is open. */
  get shutBecause(): string | undefined {
    return this.closedBecause;
  }

  /** From now on only commands started inside `exempt()` run. */
  shut(reason: string): void {
    this.closedBecause ??= reason;
  }

  exempt<T>(fn: () => Promise<T>): Promise<T> {
    return this.cleanup.run(true, fn);
  }

  exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    if (this.closedBecause && !this.cleanup.getStore()) {
      return Promise.reject(new InterruptedError(this.closedBecause, describeCommand(command)));
    }
    return this.inner.exec(command, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
