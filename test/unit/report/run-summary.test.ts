import { mkdtemp, mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { LabState } from '../../../lib/lab/lab-state.js';
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
  it("records how the lab host came up (a restored one is told from a booted one) with its accelerations", async () => {
    const dir = path.join(root, 'run2');
    await mkdir(dir);
    const lab: LabState = {
      provider: 'vagrant',
      prefix: 'vmsnap-lab',
      createdAt: '2026-12-03T04:26:00Z',
      outerAccel: { accel: 'tcg', detail: 'no usable /dev/kvm' },
      innerAccel: { accel: 'kvm', detail: 'a test guest reached userspace in 7.0s' },
      guestImage: { name: 'guest-debian', hash: 'dbe71dfba9cf', boot: 'kernel', dir: '/x', source: 'debian' },
      versions: {},
      sut: { kind: 'none', reason: 'SUT=none was set' },
      timings: { 'restore the lab host': 13.1 },
      startPath: 'restored',
    };
    await writeRunSummary(dir, { runId: 'r2', startedAt: new Date('2026-12-03T04:27:00Z'), counts: { passed: 0, failed: 0, skipped: 0 }, phases: {}, lab });
    const s = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8'));
    expect(s.lab.startPath).to.equal('restored');
    expect(s.lab.outerAccel).to.equal('tcg (no usable /dev/kvm)');
    expect(s.labTimings).to.deep.equal({ 'restore the lab host': 13.1 });
  });
});
