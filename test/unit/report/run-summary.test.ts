import { mkdtemp, mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { pointLatestAt, writeRunSummary } from '../../../lib/report/run-summary.js';

describe('run reports', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'runs-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('points latest at the newest run, replacing an old link or an old real folder', async () => {
    await mkdir(path.join(root, 'latest'));
    await pointLatestAt(root, path.join(root, 'run-1'));
    expect(await readlink(path.join(root, 'latest'))).to.equal('run-1');
    await pointLatestAt(root, path.join(root, 'run-2'));
    expect(await readlink(path.join(root, 'latest'))).to.equal('run-2');
  });

  it('writes summary.json with every test of every suite, its status and duration', async () => {
    const dir = path.join(root, 'run');
    await mkdir(dir);
    await writeFile(
      path.join(dir, 'lab.xml'),
      '<?xml version="1.0"?><testsuites><testsuite name="lab"><testcase classname="Lab" name="a" time="1.5"/><testcase classname="Lab" name="b" time="2"><failure message="boom&#10;x"/></testcase><testcase classname="Lab" name="c"><skipped message="not run: no SUT"/></testcase></testsuite></testsuites>',
    );
    await writeRunSummary(dir, { runId: 'r1', startedAt: new Date('2026-11-24T00:00:00Z'), counts: { passed: 1, failed: 1, skipped: 1 }, phases: { 'lab suite': 3.5 } });
    const s = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8'));
    expect(s.runId).to.equal('r1');
    expect(s.phases).to.deep.equal({ 'lab suite': 3.5 });
    expect(s.tests).to.deep.equal([
      { suite: 'lab', name: 'Lab a', status: 'passed', seconds: 1.5 },
      { suite: 'lab', name: 'Lab b', status: 'failed', seconds: 2, message: 'boom' },
      { suite: 'lab', name: 'Lab c', status: 'skipped', seconds: 0, message: 'not run: no SUT' },
    ]);
  });
});
