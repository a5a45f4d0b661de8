import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { defectsFileFor, type DefectRecord, type KnownDefect } from '../../lib/report/known-defects.js';

// `itKnownDefect`: Mocha's `it` for a test that reproduces a known defect of
// VMSnap. The test body asserts the documented behaviour, unchanged. If it fails
// with the defect's signature, the test is reported pending with the defect in
// its name (JUnit <skipped>), and recorded as a known failure; a failure of any
// other kind fails the test as usual; a pass is recorded as "now passing".

const records: DefectRecord[] = [];

process.on('exit', () => {
  if (records.length === 0) return;
  const file = defectsFileFor(process.env.MOCHA_FILE ?? 'artifacts/reports/latest/integration.xml');
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
      records.push({ test: test.fullTitle(), defect: defect.id, link: defect.link, outcome: 'known failure', error: message.split('\n')[0] });
      console.log(`      KNOWN DEFECT ${defect.id} (${defect.link}): ${message.split('\n')[0]}`);
      test.title = `${title} [known defect ${defect.id}: ${defect.link}]`;
      this.skip();
    }
    records.push({ test: test.fullTitle(), defect: defect.id, link: defect.link, outcome: 'now passing' });
    console.log(`      NOW PASSING: known defect ${defect.id} no longer reproduces; remove its mark`);
  });
}
