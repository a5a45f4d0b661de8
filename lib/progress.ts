import { say } from './log.js';

/** Seconds since `started` (a performance.now() value), one decimal. */
export function secondsSince(started: number): number {
  return Math.round((performance.now() - started) / 100) / 10;
}

/**
 * A long step with its elapsed time: `label...` at the start, `label: still
 * running (60s)` every `everyS` seconds, `label done (83.2s)` or `label FAILED
 * after 12s` at the end. Plain lines, not a spinner: these steps stream
 * vagrant's and packer's own output between them, and CI logs are not terminals,
 * where a redrawn line (ora, listr2) turns into noise. Returns the result and the seconds.
 */
export async function step<T>(label: string, fn: () => Promise<T>, everyS = 30): Promise<{ result: T; seconds: number }> {
  const started = performance.now();
  say(`${label}...`);
  const ticker = setInterval(() => say(`${label}: still running (${Math.round(secondsSince(started))}s)`), everyS * 1000);
  ticker.unref();
  try {
    const result = await fn();
    const seconds = secondsSince(started);
    say(`${label} done (${seconds}s)`);
    return { result, seconds };
  } catch (error) {
    say(`${label} FAILED after ${secondsSince(started)}s`);
    throw error;
  } finally {
    clearInterval(ticker);
  }
}

/** A step (see `step`) whose elapsed time is also kept in `timings` under its name. */
export async function timed<T>(timings: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const { result, seconds } = await step(`lab: ${name}`, fn);
  timings[name] = seconds;
  return result;
}
