import { Command } from 'commander';
import path from 'node:path';
import { defectSummaryLines, readDefectRecords } from '../report/known-defects.js';
import { countJunit, failedCases, summaryLine, type Counts } from '../report/junit-summary.js';

// Prints one line summing every JUnit file given: what .ci/run ends with.
// A missing file counts as one failure: a suite that wrote no report did not pass.
const program = new Command('junit-summary')
  .argument('<files...>', 'JUnit XML files')
  .option('--expect <suites>', 'comma-separated suites that must have reported (<suite>.xml among the files)')
  .parse();
const total: Counts = { passed: 0, failed: 0, skipped: 0 };
// A suite that never reported (its runner crashed before it) is a failure, not a zero.
const given = new Set(program.args.map((f) => path.basename(f, '.xml')));
for (const suite of ((program.opts() as { expect?: string }).expect ?? '').split(',').filter(Boolean)) {
  if (given.has(suite)) continue;
  console.log(`FAILED ${suite}: the suite did not report (no ${suite}.xml): make test stopped before it; see the log above`);
  total.failed += 1;
}
for (const file of program.args) {
  try {
    const c = await countJunit(file);
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
    // Every failure by name and first line, right above the count: a log's tail is often all one sees.
    for (const f of await failedCases(file)) console.log(`FAILED ${path.basename(file, '.xml')}: ${f.name}: ${f.message}`.slice(0, 400));
  } catch (error) {
    console.error(`junit-summary: cannot read ${file}: ${(error as Error).message}`);
    total.failed += 1;
  }
}
// What the skipped count holds: known VMSnap defects (ran, failed as expected) are listed by name.
const dirs = [...new Set(program.args.map((f) => path.dirname(f)))];
for (const line of defectSummaryLines(dirs.flatMap((d) => readDefectRecords(d)))) console.log(line);
console.log(summaryLine(total));
