import { say } from '../log.js';
import type { CleanupRegistry, ReleaseReport } from './cleanup-registry.js';

/** The shell's exit code for a process ended by each signal. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
export type ExitSignal = keyof typeof SIGNAL_EXIT_CODES;

export interface SignalHooks {
  /**
   * Runs the whole release (stop, registry, sweep) in a context of the caller's
   * choosing, e.g. GatedTransport.exempt: the commands cleanup sends must go
   * through a transport that refuses the interrupted test's.
   */
  around?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Before the registry: stop what is still running (a backup that would recreate a folder). */
  before?: (signal: ExitSignal) => Promise<void>;
  /** After the registry: remove what it did not know about (created while it ran). */
  after?: (signal: ExitSignal) => Promise<void>;
}

/** A hook that throws counts as one failed cleanup step; the rest still runs. */
async function hook(name: string, fn: (() => Promise<void>) | undefined, report: ReleaseReport): Promise<void> {
  if (!fn) return;
  try {
    await fn();
  } catch (error) {
    report.failed.push({ name, error: error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error) });
  }
}

/**
 * On SIGINT/SIGTERM: `before`, then releases everything in the registry, then
 * `after`; prints what could not be released, and exits with the shell's code
 * for that signal (130/143), or 1 when something was not released.
 * A second signal while releasing is ignored: a half-done cleanup is worse than
 * a slow one, and every step is bounded in time anyway.
 * Returns a function that removes the handlers.
 */
export function releaseOnSignals(registry: CleanupRegistry, hooks: SignalHooks = {}): () => void {
  let releasing = false;
  const around = hooks.around ?? (<T>(fn: () => Promise<T>) => fn());
  const handlers = (Object.keys(SIGNAL_EXIT_CODES) as ExitSignal[]).map((signal) => {
    const handler = () => {
      if (releasing) {
        say(`${signal} again: still cleaning up, please wait`);
        return;
      }
      releasing = true;
      say(`${signal}: stopping, then releasing ${registry.pending.length} lab resource(s)...`);
      void around(async () => {
        const { before, after } = hooks;
        const early: ReleaseReport = { released: [], failed: [] };
        await hook('stop running commands', before && (() => before(signal)), early);
        const report = await registry.releaseAll();
        await hook('sweep', after && (() => after(signal)), report);
        return { released: report.released, failed: [...early.failed, ...report.failed] };
      }).then((report) => {
        for (const f of report.failed) say(`cleanup FAILED: ${f.name}: ${f.error}`);
        say(`${signal}: released ${report.released.length}, failed ${report.failed.length}`);
        process.exit(report.failed.length > 0 ? 1 : SIGNAL_EXIT_CODES[signal]);
      });
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
