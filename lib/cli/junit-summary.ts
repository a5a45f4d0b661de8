import { Command } from 'commander';
import { countJunit, summaryLine, type Counts } from '../report/junit-summary.js';

// Prints one line summing every JUnit file given: what .ci/run ends with.
// A missing file counts as one failure: a suite that wrote no report did not pass.
const program = new Command('junit-summary').argument('<files...>', 'JUnit XML files').parse();
const total: Counts = { passed: 0, failed: 0, skipped: 0 };
for (const file of program.args) {
  try {
    const c = await countJunit(file);
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
  } catch (error) {
    console.error(`junit-summary: cannot read ${file}: ${(error as Error).message}`);
    total.failed += 1;
  }
}
console.log(summaryLine(total));
