import { expect } from 'chai';
import { execa } from 'execa';
import { ownerGone, processStart, selfIdentity, sweptLines, type Lease } from '../../../lib/lab/run-lease.js';

describe('run-lease: whether a run\'s owner is gone', function () {
  const lease = (over: Partial<Lease> = {}): Lease => ({ runId: 'a1b2c3', what: 'suite lab', startedAt: '2026-12-01T00:00:00Z', ...selfIdentity(), ...over });

  it('reads a live process\'s start time, and none for a pid that does not run', async () => {
    expect(processStart(process.pid)).to.match(/^\d+$/);
    const done = execa('true');
    const pid = done.pid as number;
    await done;
    expect(processStart(pid)).to.equal(undefined);
  });

  it('takes this process for alive, and a dead pid, a reused pid or an earlier boot for gone', async () => {
    expect(ownerGone(lease())).to.equal(undefined);
    const done = execa('true');
    const pid = done.pid as number;
    await done;
    expect(ownerGone(lease({ pid }))).to.equal(`its owner (pid ${pid}) is gone`);
    expect(ownerGone(lease({ pidStart: '1' }))).to.equal(`its owner's pid ${process.pid} now belongs to another process`);
    expect(ownerGone(lease({ bootId: 'another-boot' }))).to.equal(`its owner (pid ${process.pid}) ran before this machine rebooted`);
  });

  it('leaves alone a lease taken on another machine, which this one cannot judge', () => {
    expect(ownerGone(lease({ host: 'elsewhere', pid: 1, bootId: 'x' }))).to.equal(undefined);
  });

  it('says per swept run what was left of it', () => {
    const none = { processes: [], domains: [], checkpointMetadata: [], files: [], nbdSockets: [] };
    expect(sweptLines([{ runId: 'a1b2c3', why: 'gone', left: none }])).to.deep.equal(['swept run a1b2c3 (gone): nothing of it was left']);
    expect(sweptLines([{ runId: 'a1b2c3', why: 'gone', left: { ...none, domains: ['d'], files: ['f', 'g'] } }])).to.deep.equal(['swept run a1b2c3 (gone): 1 domains, 2 files']);
  });
});
