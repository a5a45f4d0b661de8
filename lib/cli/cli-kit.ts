import { InvalidArgumentError } from 'commander';
import { SIGNAL_EXIT_CODES } from '../cleanup/signals.js';
import { ConfigError } from '../config.js';
import { say } from '../log.js';

/** A commander parser for `--runs`: a whole number from 1. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number from 1');
  return n;
}

/**
 * Ctrl-C (or SIGTERM) for a command that repeats a step: the step running ends,
 * no new one starts. A second signal exits at once, as Vagrant and Compose do:
 * a step stuck on a hung host must not make the command unkillable but for
 * SIGKILL. Returns the signal received, if any, for the loop to check.
 */
export function stopAfterCurrent(step: string): () => NodeJS.Signals | undefined {
  let interrupted: NodeJS.Signals | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) {
        say(`\n${signal} again: exiting now; the lab is left as it is (make lab-down removes it)`);
        process.exit(SIGNAL_EXIT_CODES[signal]);
      }
      interrupted = signal;
      say(`\n${signal}: stopping after the running ${step} (send it again to exit now)`);
    });
  }
  return () => interrupted;
}

/** Runs a command's main; any error is one line per problem on stderr (`name: ...`) and exit 1. */
export async function runCli(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    const lines = error instanceof ConfigError ? error.problems : [(error as Error).message.split('\n')[0] as string];
    for (const l of lines) console.error(`${name}: ${l}`);
    process.exitCode = 1;
  }
}
