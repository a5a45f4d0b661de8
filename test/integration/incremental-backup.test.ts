import { expect } from 'chai';
import { backupDataFiles, checkpointFiles, checkpointsExist, directoryExists, getBackupSize, getCheckpoints } from '../../lib/vmsnap/assertions.js';
import { writeDataToVM } from '../../lib/vmsnap/fixtures.js';
import { fakeClock, periodFolder } from '../../lib/vmsnap/periods.js';
import { describeRun, vmsnapSaid } from '../../lib/vmsnap/vmsnap-runner.js';
import { fileSha256InImage, restoreBackup } from '../../lib/vm/restore.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { recordMeasurement } from '../support/measurements.js';
import { lab } from '../support/lab-fixture.js';
import { itKnownDefect } from '../support/known-defect.js';
import { execVMSnap, freshDir, labNow } from '../support/vmsnap-fixture.js';
import { DEFECTS } from './known-defects.js';
import { execOk } from '../../lib/transport/transport.js';

// Plan §2 "Incremental Backup Testing", plus restore verification: a backup
// that cannot be restored is not a backup. One running guest; each step builds
// on the one before, as a backup chain does.
describe('Incremental Backups', function () {
  const t = () => lab().lab.transport;
  let testVM: TestVM;
  let out: string;
  let folder: string;
  let work: string;
  const sha: Record<string, string> = {};
  const sizes: number[] = [];

  const backup = async (label: string, fakeNow?: string) => {
    const r = await execVMSnap([`--domains=${testVM.name}`, `--output=${out}`, '--backup'], fakeNow ? { fakeNow } : {});
    recordMeasurement(`vmsnap ${label} backup, running guest (s)`, r.durationMs / 1000);
    expect(r.exitCode, describeRun(r)).to.equal(0);
    return r;
  };

  before(async () => {
    testVM = await lab().vms.createTestVM('incremental');
    await lab().vms.startVM(testVM);
    out = await freshDir('incremental');
    work = await freshDir('incremental-restore');
    folder = `${out}/${testVM.name}/${periodFolder('month', await labNow())}`;
    sha.a = await writeDataToVM(testVM, '/root/a.bin', '4MB');
  });

  after(async () => {
    if (testVM) await lab().vms.destroyVM(testVM);
  });

  it('second backup creates incremental backup', async () => {
    // First backup
    await backup('full');
    const firstBackupSize = await getBackupSize(t(), out, testVM.name);
    sizes.push(firstBackupSize);

    // Modify VM (write some data)
    sha.b = await writeDataToVM(testVM, '/root/testfile', '1MB');

    // Second backup
    await backup('incremental');
    const secondBackupSize = await getBackupSize(t(), out, testVM.name);
    sizes.push(secondBackupSize);

    expect(await checkpointsExist(testVM, 2), (await getCheckpoints(testVM)).join(', ')).to.equal(true);
    const files = (await backupDataFiles(t(), folder)).map((f) => f.split('/').pop());
    expect(files).to.deep.equal(['vda.full.data', 'vda.inc.virtnbdbackup.1.data']);
    // The plan compares backup sizes. The folder's size grows by more than disk data:
    // virtnbdbackup also saves the direct-boot kernel and initrd (about 13 MiB) with
    // every backup of this guest. So the disk data of each backup is compared.
    const dataSize = async (f: string) => Number((await execOk(t(), ['stat', '-c', '%s', `${folder}/${f}`])).stdout.trim());
    const [full, inc] = [await dataSize('vda.full.data'), await dataSize('vda.inc.virtnbdbackup.1.data')];
    expect(inc, `full ${full} B, incremental ${inc} B (folder: ${firstBackupSize} B, then ${secondBackupSize} B)`).to.be.lessThan(full * 0.5);
  });

  it('restoring the full backup gives the disk as it was at the first backup (checksums)', async () => {
    const image = await restoreBackup(t(), folder, `${work}/full`, 'virtnbdbackup.0');
    expect(await fileSha256InImage(t(), image, '/root/a.bin', work)).to.equal(sha.a);
    expect(await fileSha256InImage(t(), image, '/root/testfile', work), 'written after the first backup').to.equal(undefined);
  });

  it('restoring the full + incremental chain gives the disk as it was at the second backup (checksums)', async () => {
    const image = await restoreBackup(t(), folder, `${work}/chain`);
    expect(await fileSha256InImage(t(), image, '/root/a.bin', work)).to.equal(sha.a);
    expect(await fileSha256InImage(t(), image, '/root/testfile', work)).to.equal(sha.b);
  });

  it('a third backup in the same period continues the chain (virtnbdbackup.2)', async () => {
    sha.c = await writeDataToVM(testVM, '/root/c.bin', '512KB');
    await backup('second incremental');
    expect(await getCheckpoints(testVM)).to.deep.equal(['virtnbdbackup.0', 'virtnbdbackup.1', 'virtnbdbackup.2']);
    const files = (await backupDataFiles(t(), folder)).map((f) => f.split('/').pop());
    expect(files).to.deep.equal(['vda.full.data', 'vda.inc.virtnbdbackup.1.data', 'vda.inc.virtnbdbackup.2.data']);
    expect(await checkpointFiles(t(), folder), `the checkpoint definitions in ${folder}`).to.deep.equal(['virtnbdbackup.0', 'virtnbdbackup.1', 'virtnbdbackup.2']);
    const image = await restoreBackup(t(), folder, `${work}/chain3`);
    expect(await fileSha256InImage(t(), image, '/root/c.bin', work)).to.equal(sha.c);
  });

  itKnownDefect('the first backup of a new period starts a new chain: a full backup, checkpoints back to virtnbdbackup.0, the old period kept', DEFECTS.runningBitmapsKept, async (known) => {
    const next = (await labNow()).add(1, 'month').date(3).hour(12);
    const r = await backup('new-period full', fakeClock(next));
    const newFolder = `${out}/${testVM.name}/${periodFolder('month', next)}`;
    expect(await directoryExists(t(), folder), 'the previous period (no --prune)').to.equal(true);
    await known(async () => {
      expect(await getCheckpoints(testVM), `checkpoints after the first backup of the new period; VMSnap said: ${vmsnapSaid(r, /Bitmap already exists|failed with code/)}`).to.deep.equal(['virtnbdbackup.0']);
      expect((await backupDataFiles(t(), newFolder)).map((f) => f.split('/').pop())).to.deep.equal(['vda.full.data']);
      // The new full chain restores on its own.
      const image = await restoreBackup(t(), newFolder, `${work}/newperiod`);
      expect(await fileSha256InImage(t(), image, '/root/c.bin', work)).to.equal(sha.c);
    });
  });
});
