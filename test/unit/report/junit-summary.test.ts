import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { countJunit, failedCases, summaryLine } from '../../../lib/report/junit-summary.js';
import { writeNotRun } from '../../../lib/report/not-run.js';

describe('countJunit / summaryLine', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-junit-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('counts passed, failed (failure or error) and skipped test cases across suites', async () => {
    const file = path.join(dir, 'a.xml');
    await writeFile(
      file,
      `<?xml version="1.0"?><testsuites><testsuite name="a"><testcase name="p1"/><testcase name="p2"></testcase>
       <testcase name="f1"><failure message="x">boom</failure></testcase></testsuite>
       <testsuite name="b"><testcase name="e1"><error/></testcase><testcase name="s1"><skipped/></testcase></testsuite></testsuites>`,
    );
    const c = await countJunit(file);
    expect(c).to.deep.equal({ passed: 2, failed: 2, skipped: 1 });
    expect(summaryLine(c)).to.equal('2 passed, 2 failed, 1 skipped');
  });

  it('leaves out ", N skipped" when nothing was skipped', () => {
    expect(summaryLine({ passed: 5, failed: 0, skipped: 0 })).to.equal('5 passed, 0 failed');
  });

  it('counts a suite written as not run as skipped, with the reason in each case', async () => {
    const file = path.join(dir, 'not-run.xml');
    await writeNotRun(file, 'VMSnap integration', ['backup operations', 'scrubbing'], 'SUT=none was set');
    expect(await countJunit(file)).to.deep.equal({ passed: 0, failed: 0, skipped: 2 });
    expect(await readFile(file, 'utf8')).to.include('message="not run: SUT=none was set"');
  });

  it('counts a suite that did not start as failed, never as passed or skipped', async () => {
    const file = path.join(dir, 'crashed.xml');
    await writeNotRun(file, 'lab', ['lab suite'], 'crashed', 'failure');
    expect(await countJunit(file)).to.deep.equal({ passed: 0, failed: 1, skipped: 0 });
  });
});

describe('failedCases', () => {
  it('names each failed case with the first line of why', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fc-'));
    const file = path.join(dir, 's.xml');
    await writeFile(file, '<?xml version="1.0"?><testsuites><testsuite name="x"><testcase name="a" classname="Suite a"><failure message="expected 1 to equal 2&#10;more">stack</failure></testcase><testcase name="b" classname="Suite b"/></testsuite></testsuites>');
    expect(await failedCases(file)).to.deep.equal([{ name: 'Suite a a', message: 'expected 1 to equal 2' }]);
    await rm(dir, { recursive: true });
  });
});
