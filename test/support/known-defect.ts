import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { defectsFileFor, type DefectRecord, type KnownDefect } from '../../lib/report/known-defects.js';
import { suiteJunitFile } from './report-env.js';
import { markTest } from './test-marks.js';

// `itKnownDefect`: Mocha's `it` for a test that reproduces a known defect of
// VMSnap. The test body asserts the documented behaviour, unchanged, and wraps
// the assertions the defect breaks in `known(...)`: only a failure *there* that
// matches the defect's signature is the known one. Every assertion outside
// `known` runs as usual, before and after it, so a known failure never hides
// another. The test is then reported pending (JUnit <skipped>) under its own
// title, the defect in its `known-defect` property, and recorded as a known
// failure; a failure of any other kind fails the test. A pass fails it too, as
// pytest's xfail(strict=True) does: VMSnap's behaviour there moved, and a
// regression can make a known failure pass as well as a fix can, so the run
// stays red until someone has read the change and removed the mark.

/** Runs the assertions a known defect breaks; a failure matching its signature is held, not thrown. */
export type KnownStep = (assertions: () => unknown) => Promise<void>;

/** For a test that is not marked: `known` runs its assertions as any others. */
export const plainStep: KnownStep = async (assertions) => {
  await assertions();
};

const records: DefectRecord[] = [];

process.on('exit', () => {
  if (records.length === 0) return;
  const file = defectsFileFor(suiteJunitFile);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(records, null, 2)}\n`);
});

/** The one line a marked test that passed fails with. */
export function strictPassMessage(defect: KnownDefect): string {
  return `${defect.id} no longer reproduces: VMSnap's behaviour changed here (a fix, or a regression that hides it); read the change, then remove the mark (test/integration/known-defects.ts, ${defect.link})`;
}

export function itKnownDefect(title: string, defect: KnownDefect, fn: (this: Mocha.Context, known: KnownStep) => Promise<void>): Mocha.Test {
  return it(title, async function () {
    const test = this.test as Mocha.Test;
    let steps = 0;
    let reproduced: string | undefined;
    const known: KnownStep = async (assertions) => {
      steps++;
      try {
        await assertions();
      } catch (error) {
        const message = (error as Error).message ?? String(error);
        if (!defect.signature.test(message)) throw error;
        reproduced ??= message.split('\n')[0];
      }
    };
    await fn.call(this, known);
    // A marked test that never reached the assertions its defect breaks has not shown anything about it.
    if (steps === 0) throw new Error(`${defect.id}: the test never ran the assertions its defect breaks (known(...))`);
    if (reproduced !== undefined) {
      records.push({ test: test.fullTitle(), defect: defect.id, link: defect.link, outcome: 'known failure', error: reproduced });
      console.log(`      KNOWN DEFECT ${defect.id} (${defect.link}): ${reproduced}`);
      markTest(this, 'known-defect', `${defect.id} known failure: ${defect.link}`, `known defect ${defect.id} (${defect.link}): ${reproduced}`);
      this.skip();
    }
    records.push({ test: test.fullTitle(), defect: defect.id, link: defect.link, outcome: 'now passing' });
    markTest(this, 'known-defect', `${defect.id} now passing: remove its mark`);
    throw new Error(strictPassMessage(defect));
  });
}
