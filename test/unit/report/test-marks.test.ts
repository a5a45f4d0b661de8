import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../../lib/config.js';
import { listCases } from '../../../lib/report/junit-summary.js';
import { markJunit, marksOf } from '../../../lib/report/test-marks.js';

describe('test marks (known defects, not run) go into properties, never into titles', function () {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="Mocha Tests" tests="2" failures="0" skipped="1">
  <testsuite name="S" tests="2" failures="0" skipped="1">
    <testcase name="S a" time="1.000" classname="a"><skipped/></testcase>
    <testcase name="S b" time="1.000" classname="b"><properties><property name="infrastructure-event" value="x"/></properties></testcase>
  </testsuite>
</testsuites>`;

  it('adds each mark as a property of the test it names, with the skipped reason, and leaves the title alone', () => {
    const { xml: out, unmatched } = markJunit(xml, [
      { test: 'S a', name: 'known-defect', value: 'VMSNAP-3 known failure: docs/x.md#vmsnap-3', skipped: 'known defect VMSNAP-3: exit 0' },
      { test: 'S b', name: 'not-run', value: 'why' },
    ]);
    expect(unmatched).to.deep.equal([]);
    expect(marksOf(out, 'S a')).to.deep.equal([{ name: 'known-defect', value: 'VMSNAP-3 known failure: docs/x.md#vmsnap-3' }]);
    expect(marksOf(out, 'S b'), 'a property already there is kept').to.deep.equal([
      { name: 'infrastructure-event', value: 'x' },
      { name: 'not-run', value: 'why' },
    ]);
    expect(out).to.include('<skipped message="known defect VMSNAP-3: exit 0"');
    expect(out).to.match(/<testcase name="S a"[^>]*>\s*<properties>/);
  });

  it('returns the marks whose test the report does not hold', () => {
    const m = { test: 'S c', name: 'not-run' as const, value: 'why' };
    expect(markJunit(xml, [m]).unmatched).to.deep.equal([m]);
  });

  describe('a real Mocha run with the suites’ reporters', function () {
    this.timeout(60_000);
    let dir: string;
    let junit: string;
    let exitCode: number;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-marks-'));
      junit = path.join(dir, 'marks.xml');
      const r = await execa(path.join(PROJECT_ROOT, 'node_modules/.bin/mocha'), ['--import=tsx', '--require', 'test/support/report-env.ts', '--reporter', 'mocha-multi-reporters', '--reporter-option', 'configFile=test/reporters.json', 'test/support/marks-child.ts'], {
        cwd: PROJECT_ROOT,
        reject: false,
        env: { MOCHA_FILE: junit, MOCHAWESOME_REPORTDIR: dir, MOCHAWESOME_REPORTFILENAME: 'marks' },
      });
      exitCode = r.exitCode ?? 1;
    });
    after(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('reports every test under its own title, a known failure or not-run skipped with its mark, any other failure failed (also one after or outside known()), and a marked test that passes failed (strict)', async () => {
      expect(exitCode, 'Mocha exits with the number of real failures, the marked test that passed among them').to.equal(5);
      const cases = await listCases(junit, 'marks');
      // listCases names a case by its title, then its full title.
      const name = (c: { name: string }) => c.name.replace(/^.*? Marks /, 'Marks ');
      expect(cases.map((c) => [name(c), c.status])).to.deep.equal([
        ['Marks passes plainly', 'passed'],
        ['Marks fails with the defect', 'skipped'],
        ['Marks fails otherwise', 'failed'],
        ['Marks fails after the defect', 'failed'],
        ['Marks fails with the signature outside known', 'failed'],
        ['Marks never reaches known', 'failed'],
        ['Marks passes despite the mark', 'failed'],
        ['Marks cannot run here', 'skipped'],
      ]);
      const xml = await readFile(junit, 'utf8');
      expect(marksOf(xml, 'Marks fails with the defect')).to.deep.equal([{ name: 'known-defect', value: 'DEMO-1 known failure: docs/demo.md#demo-1' }]);
      expect(marksOf(xml, 'Marks fails otherwise'), 'a real failure carries no mark').to.deep.equal([]);
      expect(cases.find((c) => name(c) === 'Marks fails after the defect')?.message, 'an assertion after known() still runs').to.match(/an assertion after the known one/);
      expect(cases.find((c) => name(c) === 'Marks never reaches known')?.message).to.match(/DEMO-1: the test never ran the assertions its defect breaks/);
      expect(marksOf(xml, 'Marks passes despite the mark')).to.deep.equal([{ name: 'known-defect', value: 'DEMO-1 now passing: remove its mark' }]);
      expect(cases.find((c) => name(c) === 'Marks passes despite the mark')?.message, 'one line: the mark must go because VMSnap changed').to.equal(
        "DEMO-1 no longer reproduces: VMSnap's behaviour changed here (a fix, or a regression that hides it); read the change, then remove the mark (test/integration/known-defects.ts, docs/demo.md#demo-1)",
      );
      expect(marksOf(xml, 'Marks cannot run here')).to.deep.equal([{ name: 'not-run', value: 'no such thing [here]' }]);
      expect(cases.find((c) => name(c) === 'Marks cannot run here')?.message).to.equal('not run: no such thing [here]');
      expect(cases.find((c) => name(c) === 'Marks fails with the defect')?.message).to.match(/^known defect DEMO-1 \(docs\/demo\.md#demo-1\): the demo defect/);
    });

    it('records the known defects for the summary, and puts the marks into the HTML report’s context', async () => {
      const records = JSON.parse(await readFile(path.join(dir, 'marks.known-defects.json'), 'utf8')) as { test: string; outcome: string }[];
      expect(records.map((r) => [r.test, r.outcome])).to.deep.equal([
        ['Marks fails with the defect', 'known failure'],
        ['Marks passes despite the mark', 'now passing'],
      ]);
      const html = JSON.parse(await readFile(path.join(dir, 'marks.json'), 'utf8')) as { results: { suites: { tests: { title: string; context: string | null }[] }[] }[] };
      const tests = html.results[0]!.suites[0]!.tests;
      expect(tests.map((t) => t.title)).to.deep.equal(['passes plainly', 'fails with the defect', 'fails otherwise', 'fails after the defect', 'fails with the signature outside known', 'never reaches known', 'passes despite the mark', 'cannot run here']);
      expect(tests.find((t) => t.title === 'cannot run here')?.context).to.include('no such thing [here]');
      expect(tests.find((t) => t.title === 'fails with the defect')?.context).to.include('DEMO-1 known failure');
    });
  });
});
