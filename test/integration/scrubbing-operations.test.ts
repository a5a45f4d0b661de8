import { expect } from 'chai';
import { getBitmaps, getCheckpoints } from '../../lib/vmsnap/assertions.js';
import { describeRun } from '../../lib/vmsnap/vmsnap-runner.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { describeExtra, itExtra } from '../support/extra-tests.js';
import { lab } from '../support/lab-fixture.js';
import { itKnownDefect } from '../support/known-defect.js';
import { execVMSnap, freshDir } from '../support/vmsnap-fixture.js';
import { DEFECTS } from './known-defects.js';

// Plan §4 "Scrubbing Operations", plus scrubType=bitmap and =both, and a scrub
// of a running domain. A test makes two backups into a fresh folder (the first
// one clears what the previous test left) and then scrubs.
describe('Scrubbing Operations', function () {
  let testVM: TestVM;

  const ok = async (args: string[]) => {
    const r = await execVMSnap(args);
    expect(r.exitCode, describeRun(r)).to.equal(0);
    return r;
  };
  const twoBackups = async (vm: TestVM) => {
    const out = await freshDir('scrub');
    await ok([`--domains=${vm.name}`, `--output=${out}`, '--backup']);
    await ok([`--domains=${vm.name}`, `--output=${out}`, '--backup']);
  };

  before(async () => {
    testVM = await lab().vms.createTestVM('scrub');
  });
  after(async () => {
    if (testVM) await lab().vms.destroyVM(testVM);
  });

  it('scrubs specific checkpoint', async () => {
    // Create multiple backups to generate checkpoints
    await twoBackups(testVM);

    const checkpointsBefore = await getCheckpoints(testVM);
    expect(checkpointsBefore.length).to.equal(2);

    // Scrub specific checkpoint
    await ok([`--domains=${testVM.name}`, '--scrub', '--scrubType=checkpoint', '--checkpointName=virtnbdbackup.0']);

    const checkpointsAfter = await getCheckpoints(testVM);
    expect(checkpointsAfter.length).to.equal(1);
    expect(checkpointsAfter).not.to.include('virtnbdbackup.0');
  });

  it('scrubs all checkpoints and bitmaps', async () => {
    await twoBackups(testVM);

    // Verify checkpoints exist
    expect(await getCheckpoints(testVM)).to.have.length(2);
    expect(await getBitmaps(testVM)).to.have.length(2);

    // Scrub everything
    await ok([`--domains=${testVM.name}`, '--scrub', '--scrubType=*']);

    expect(await getCheckpoints(testVM)).to.have.length(0);
    expect(await getBitmaps(testVM)).to.have.length(0);
  });

  // These two share one pair of backups (each pair costs two starts of the guest).
  itExtra('scrubType=bitmap removes that bitmap from the disk and keeps the checkpoints', async () => {
    await twoBackups(testVM);
    await ok([`--domains=${testVM.name}`, '--scrub', '--scrubType=bitmap', '--checkpointName=virtnbdbackup.1']);
    expect(await getBitmaps(testVM)).to.deep.equal(['virtnbdbackup.0']);
    expect(await getCheckpoints(testVM)).to.deep.equal(['virtnbdbackup.0', 'virtnbdbackup.1']);
  });

  itExtra('scrubType=both removes the checkpoint and the bitmap of that name only', async () => {
    // State from the test above: checkpoints .0 and .1, bitmap .0 only.
    await ok([`--domains=${testVM.name}`, '--scrub', '--scrubType=both', '--checkpointName=virtnbdbackup.0']);
    expect(await getCheckpoints(testVM)).to.deep.equal(['virtnbdbackup.1']);
    expect(await getBitmaps(testVM)).to.deep.equal([]);
  });

  describeExtra('a running domain', function () {
    let running: TestVM;
    before(async () => {
      running = await lab().vms.createTestVM('scrub-running');
      await lab().vms.startVM(running);
    });
    after(async () => {
      if (running) await lab().vms.destroyVM(running);
    });

    itKnownDefect('scrubType=* on a running domain leaves no checkpoint and no bitmap', DEFECTS.runningBitmapsKept, async () => {
      await twoBackups(running);
      expect(await getBitmaps(running)).to.have.length(2);
      await ok([`--domains=${running.name}`, '--scrub', '--scrubType=*']);
      expect(await getCheckpoints(running)).to.deep.equal([]);
      expect(await getBitmaps(running), 'bitmaps QEMU still tracks for vda').to.deep.equal([]);
    });
  });
});
