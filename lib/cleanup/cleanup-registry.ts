import { withDeadline } from '../deadline.js';
import { log } from '../log.js';

export interface ReleaseStep {
  /** What is released, e.g. `domain vmsnap-lab-1a2b-guest1`; shown in reports. */
  name: string;
  release: () => Promise<void>;
  /** Upper bound for this step; a step still running then counts as failed. */
  timeoutMs: number;
}

export interface ReleaseFailure {
  name: string;
  error: string;
}

export interface ReleaseReport {
  released: string[];
  failed: ReleaseFailure[];
}

export class CleanupError extends Error {
  constructor(readonly report: ReleaseReport) {
    super(
      `cleanup left ${report.failed.length} resource(s) behind:\n` +
        report.failed.map((f) => `  - ${f.name}: ${f.error}`).join('\n'),
    );
    this.name = 'CleanupError';
  }
}

/** Handle returned by `register`: lets the owner release one resource early. */
export interface Registration {
  /** Runs this step now (once) and removes it from the registry. */
  release(): Promise<void>;
  /** Forgets the step without running it: the resource is already gone. */
  forget(): void;
}

const DEFAULT_STEP_TIMEOUT_MS = 60_000;

function withTimeout(step: ReleaseStep): Promise<void> {
  const released = step.release().catch((error: unknown) => {
    throw error instanceof Error ? error : new Error(String(error));
  });
  return withDeadline(released, step.timeoutMs, () => new Error(`not released within ${step.timeoutMs}ms`));
}

/**
 * Every resource the lab creates registers how to release it the moment it is
 * created; `releaseAll` runs the steps newest first, each bounded in time, and
 * reports every failure instead of swallowing it.
 * Example: `const vm = registry.register('domain x', () => destroy('x'))`.
 */
export class CleanupRegistry {
  private readonly steps: ReleaseStep[] = [];
  private releasing?: Promise<ReleaseReport>;

  register(
    name: string,
    release: () => Promise<void>,
    options: { timeoutMs?: number } = {},
  ): Registration {
    const step: ReleaseStep = { name, release, timeoutMs: options.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS };
    this.steps.push(step);
    log.lab(`cleanup: registered ${name}`);
    let done: Promise<void> | undefined;
    return {
      release: () => {
        done ??= (async () => {
          this.remove(step);
          await withTimeout(step);
        })();
        return done;
      },
      forget: () => this.remove(step),
    };
  }

  get pending(): readonly string[] {
    return this.steps.map((s) => s.name);
  }

  /**
   * Releases everything still registered, newest first. Safe to call more than
   * once or concurrently (a signal during a normal teardown): all callers share
   * the one run. Resolves with a report; use `releaseAllOrThrow` to fail on leftovers.
   */
  releaseAll(): Promise<ReleaseReport> {
    this.releasing ??= (async () => {
      const report: ReleaseReport = { released: [], failed: [] };
      while (this.steps.length > 0) {
        const step = this.steps.pop() as ReleaseStep;
        try {
          await withTimeout(step);
          report.released.push(step.name);
          log.lab(`cleanup: released ${step.name}`);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          report.failed.push({ name: step.name, error: message });
          log.lab(`cleanup: FAILED ${step.name}: ${message}`);
        }
      }
      return report;
    })().finally(() => {
      this.releasing = undefined;
    });
    return this.releasing;
  }

  async releaseAllOrThrow(): Promise<ReleaseReport> {
    const report = await this.releaseAll();
    if (report.failed.length > 0) throw new CleanupError(report);
    return report;
  }

  private remove(step: ReleaseStep): void {
    const i = this.steps.indexOf(step);
    if (i >= 0) this.steps.splice(i, 1);
  }
}
