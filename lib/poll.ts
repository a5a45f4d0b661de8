// One way to wait for something in the lab (a guest agent, a domain state, a
// program in a guest, a port), in the manner of testcontainers' wait strategies:
// look, wait, look again until a deadline, and when the deadline passes fail with
// what was being waited for and what the last look saw. It never ends silently.

/** One look at a condition: done with its value, or not yet, with what was seen. */
export type Look<T> = { done: true; value: T } | { done: false; saw: string };

export const done = <T>(value: T): Look<T> => ({ done: true, value });
export const notYet = (saw: string): Look<never> => ({ done: false, saw });

export interface PollOptions {
  /** Gives up after this long (measured from the first look; a look in progress is not cut short). */
  timeoutMs: number;
  /** Pause between looks. */
  intervalMs: number;
  /** More evidence for the timeout error (a serial console's tail, say). */
  evidence?: () => Promise<string>;
}

export class PollTimeout extends Error {
  constructor(
    readonly what: string,
    readonly saw: string,
    timeoutMs: number,
    evidence: string,
  ) {
    super(`${what}: not so after ${timeoutMs} ms (last seen: ${saw})${evidence ? `\n${evidence}` : ''}`);
    this.name = 'PollTimeout';
  }
}

/**
 * Looks with `look` every `intervalMs` until it is done, and returns its value;
 * throws a PollTimeout naming `what` and the last thing seen once `timeoutMs` has
 * passed. An error thrown by `look` is not retried: it ends the wait.
 */
export async function pollUntil<T>(what: string, look: () => Promise<Look<T>>, o: PollOptions): Promise<T> {
  const until = Date.now() + o.timeoutMs;
  let saw: string;
  for (;;) {
    const r = await look();
    if (r.done) return r.value;
    saw = r.saw;
    if (Date.now() >= until) break;
    await new Promise((res) => setTimeout(res, Math.min(o.intervalMs, Math.max(0, until - Date.now()))));
  }
  const evidence = o.evidence ? await o.evidence().catch((e: Error) => `(no evidence: ${e.message})`) : '';
  throw new PollTimeout(what, saw, o.timeoutMs, evidence);
}
