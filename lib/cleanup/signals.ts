import { say } from '../log.js';
import type { CleanupRegistry } from './cleanup-registry.js';

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * On SIGINT/SIGTERM, releases everything in the registry, prints what could not
 * be released, and exits with the shell's code for that signal (130/143).
 * A second signal while releasing is ignored: a half-done cleanup is worse than
 * a slow one, and every step is bounded in time anyway.
 * Returns a function that removes the handlers.
 */
export function releaseOnSignals(registry: CleanupRegistry): () => void {
  let releasing = false;
  const handlers = (Object.keys(EXIT_CODES) as (keyof typeof EXIT_CODES)[]).map((signal) => {
    const handler = () => {
      if (releasing) {
        say(`${signal} again: still cleaning up, please wait`);
        return;
      }
      releasing = true;
      say(`${signal}: releasing ${registry.pending.length} lab resource(s)...`);
      void registry.releaseAll().then((report) => {
        for (const f of report.failed) say(`cleanup FAILED: ${f.name}: ${f.error}`);
        say(`${signal}: released ${report.released.length}, failed ${report.failed.length}`);
        process.exit(report.failed.length > 0 ? 1 : EXIT_CODES[signal]);
      });
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
