import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { defectsFileFor, type DefectRecord, type KnownDefect } from '../../lib/report/known-defects.js';
import { suiteJunitFile } from './report-env.js';
import { markTest } from './test-marks.js';

// `itKnownDefect`: Mocha's `it` for a test that reproduces a known defect of
// VMSnap. The test body asserts the documented behaviour, unchanged. If it fails
// with the defect's signature, the test is reported pending (JUnit <skipped>)
// under its own title, the defect in its `known-defect` property, and recorded
// as a known failure; a failure of any other kind fails the test as usual; a
// pass is recorded as "now passing".

const records: DefectRecord[] = [];

process.on('exit', () => {
  if (records.length === 0) return;
  const file = defectsFileFor(suiteJunitFile);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(records, null, 2)}\n`);
});

export function itKnownDefect(title: string, defect: KnownDefect, fn: (this: Mocha.Context) => Promise<void>): Mocha.Test {
  return it(title, async function () {
    const test = this.test as Mocha.Test;
    try {
      await fn.call(this);
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      if (!defect.signature.test(message)) throw error;
      const first = message.split('\n')[0];
      records.push({ test: test.fullTitle(), defect: defect.id, link: defect.link, outcome: 'known failure', error: first });
      console.log(`      KNOWN DEFECT ${defect.id} (${defect.link}): ${first}`);
      markTest(this, 'known-defect', `${defect.id} known failure: ${defect.link}`, `known defect ${defect.id} (${defect.link}): ${first}`);
      this.skip();
    }
    records.push({ test: test.fullTitle(), defect: defect.id, link: defect.link, outcome: 'now passing' });
    markTest(this, 'known-defect', `${defect.id} now passing: remove its mark`);
    console.log(`      NOW PASSING: known defect ${defect.id} no longer reproduces; remove its mark`);
  });
}
