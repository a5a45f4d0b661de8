import { getLabConfig } from '../../lib/config.js';
import type { KnownDefect } from '../../lib/report/known-defects.js';
import { itKnownDefect, type KnownStep } from './known-defect.js';

// The VMSnap suites have two tiers. Core: the seed plan's tests and the coverage
// the lab promises (restores, several domains, odd names, a shut-off domain,
// --raw, each missing program, every exit code, the lock, each --groupBy and
// pruning on both sides of each boundary, status as text, JSON, YAML and
// --machine). Extra: further checks (longer chains, a new
// period's chain, default grouping, no --prune, scrubType bitmap/both, scrubbing
// a running domain, more status forms). With VMSNAP_TESTS=core the extra tests
// are registered but not run: Mocha reports them pending (JUnit <skipped>), and
// `make test` says how many and why.

const core = getLabConfig().vmsnapTests === 'core';

/** `it` for an extra test. */
export function itExtra(title: string, fn: (this: Mocha.Context) => Promise<void>): Mocha.Test {
  return core ? it.skip(title, fn) : it(title, fn);
}

/** `describe` for a group of extra tests: with `core`, its hooks do not run either. */
export function describeExtra(title: string, fn: (this: Mocha.Suite) => void): Mocha.Suite | void {
  return core ? describe.skip(title, fn) : describe(title, fn);
}

/** `itKnownDefect` for an extra test. */
export function itKnownDefectExtra(title: string, defect: KnownDefect, fn: (this: Mocha.Context, known: KnownStep) => Promise<void>): Mocha.Test {
  return core ? it.skip(title) : itKnownDefect(title, defect, fn);
}
