import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { execOk } from '../../lib/transport/transport.js';
import { backupDataFiles, checkpointFiles, getCheckpoints } from '../../lib/vmsnap/assertions.js';
import { periodFolder } from '../../lib/vmsnap/periods.js';
import { statusFromLibvirt, type DomainStatus } from '../../lib/vmsnap/status.js';
import { describeRun } from '../../lib/vmsnap/vmsnap-runner.js';
import { fileSha256InImage, regionSha256InImage, restoreBackupDisks } from '../../lib/vm/restore.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { lab } from '../support/lab-fixture.js';
import { execVMSnap, freshDir, labNow } from '../support/vmsnap-fixture.js';

// A domain with more than one disk: vda (the guest's root, qcow2), vdb (a second
// qcow2, written as a block device) and vdc (raw, backed up with --raw). The
// README: "bitmaps are stored on a per disk basis"; its status lists each
// eligible disk with its own sizes and bitmaps. One running guest, a chain of
// two backups, then the status of each disk and a restore of every disk by checksum.
// virtnbdbackup copies a raw disk in a full backup only (an incremental one has no
// bitmap to read it by): the chain restores vdc as it was at the first backup.
describe('A domain with several disks', function () {
  const t = () => lab().lab.transport;
  let vm: TestVM;
  let out: string;
  let folder: string;
  let work: string;
  const sums = new Map<string, string>();
  const sha = (f: string) => execOk(t(), ['sha256sum', f]).then((r) => r.stdout.split(/\s+/)[0] as string);
  let rawCopy: string;

  const backup = async () => {
    const r = await execVMSnap([`--domains=${vm.name}`, `--output=${out}`, '--backup', '--raw']);
    expect(r.exitCode, describeRun(r)).to.equal(0);
    return r;
  };
  const dataFiles = async () => (await backupDataFiles(t(), folder)).map((f) => f.split('/').pop());

  before(async () => {
    vm = await lab().vms.createTestVM('disks', { qcow2DisksMiB: [16], rawDisksMiB: [8] });
    expect(vm.extraDisks.map((d) => [d.target, d.format])).to.deep.equal([
      ['vdb', 'qcow2'],
      ['vdc', 'raw'],
    ]);
    await lab().vms.startVM(vm);
    out = await freshDir('disks');
    work = await freshDir('disks-restore');
    folder = `${out}/${vm.name}/${periodFolder('month', await labNow())}`;
    sums.set('vda /root/a.bin', await vm.writeData('/root/a.bin', 1024));
    sums.set('vdb 0+2', await vm.writeBlocks('vdb', 0, 2));
    sums.set('vdc 0+1', await vm.writeBlocks('vdc', 0, 1));
  });
  after(async () => {
    if (vm) await lab().vms.destroyVM(vm);
  });

  it('the first backup is a full backup of every disk: vda and vdb with checkpoint virtnbdbackup.0, vdc copied (--raw)', async () => {
    const r = await backup();
    expect(await dataFiles(), describeRun(r)).to.deep.equal(['vda.full.data', 'vdb.full.data', 'vdc.copy.data']);
    expect(await getCheckpoints(vm)).to.deep.equal(['virtnbdbackup.0']);
    rawCopy = await sha(`${folder}/vdc.copy.data`);
  });

  it('the second is incremental for each qcow2 disk (vda and vdb); the raw one is not copied again', async () => {
    sums.set('vda /root/b.bin', await vm.writeData('/root/b.bin', 512));
    sums.set('vdb 4+1', await vm.writeBlocks('vdb', 4, 1));
    await vm.writeBlocks('vdc', 2, 1);
    // Not in the chain: vdc's blocks there as the full backup found them (zeros, a new disk).
    sums.set('vdc 2+1', createHash('sha256').update(Buffer.alloc(1024 * 1024)).digest('hex'));
    const r = await backup();
    expect(await dataFiles(), describeRun(r)).to.deep.equal(['vda.full.data', 'vda.inc.virtnbdbackup.1.data', 'vdb.full.data', 'vdb.inc.virtnbdbackup.1.data', 'vdc.copy.data']);
    expect(await sha(`${folder}/vdc.copy.data`), 'the raw copy of the full backup, after the incremental one').to.equal(rawCopy);
    expect(await getCheckpoints(vm)).to.deep.equal(['virtnbdbackup.0', 'virtnbdbackup.1']);
    expect(await checkpointFiles(t(), folder)).to.deep.equal(['virtnbdbackup.0', 'virtnbdbackup.1']);
  });

  it('status lists each disk with its own virtual and actual size and its own bitmaps (the raw one none)', async () => {
    await lab().vms.shutdownVM(vm);
    const r = await execVMSnap([`--domains=${vm.name}`, '--json', '--machine']);
    expect(r.exitCode, describeRun(r)).to.equal(0);
    const truth = await statusFromLibvirt(t(), vm.name);
    expect(truth.disks.map((d) => [d.disk, d.bitmaps.slice().sort()]), 'qemu-img').to.deep.equal([
      ['vda', ['virtnbdbackup.0', 'virtnbdbackup.1']],
      ['vdb', ['virtnbdbackup.0', 'virtnbdbackup.1']],
      ['vdc', []],
    ]);
    expect((JSON.parse(r.stdout) as Record<string, DomainStatus>)[vm.name], describeRun(r)).to.deep.equal(truth);
  });

  it('the chain restores every disk: vda’s files and vdb’s blocks as the guest wrote them, vdc’s as the full backup copied them (checksums)', async () => {
    const images = await restoreBackupDisks(t(), folder, `${work}/chain`, { raw: true });
    const image = (disk: string) => {
      const file = (disk === 'vda' ? vm.disk : vm.extraDisks.find((d) => d.target === disk)?.path ?? '').split('/').pop() as string;
      const restored = images.get(file);
      expect(restored, `the restored image of ${disk} (${file}) among ${[...images.keys()].join(', ')}`).to.be.a('string');
      return restored as string;
    };
    for (const [what, sum] of sums) {
      const [disk, where] = what.split(' ') as [string, string];
      const got = where.startsWith('/') ? await fileSha256InImage(t(), image(disk), where, work) : await regionSha256InImage(t(), image(disk), ...(where.split('+').map(Number) as [number, number]), work);
      expect(got, `${what}, restored from ${folder}`).to.equal(sum);
    }
  });
});
