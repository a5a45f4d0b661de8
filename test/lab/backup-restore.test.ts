import { expect } from 'chai';
import { INNER_ROOT } from '../../lib/lab/lab-paths.js';
import { execOk, shellQuote } from '../../lib/transport/transport.js';
import { getBitmaps, getCheckpoints } from '../../lib/vmsnap/assertions.js';
import { fileSha256InImage, restoreBackup } from '../../lib/vm/restore.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { recordMeasurement } from '../support/measurements.js';
import { lab } from '../support/lab-fixture.js';

// virtnbdbackup round trip, no VMSnap: what VMSnap stands on must work first.
// One describe: each step builds on the one before (full, then incremental,
// then restores of both points), as a backup chain does.
describe('Lab: virtnbdbackup full + incremental, virtnbdrestore of each point (checksums)', function () {
  let vm: TestVM;
  let backupDir: string;
  let work: string;
  const sha: Record<string, string> = {};

  const t = () => lab().lab.transport;
  const run = async (label: string, argv: string[]) => {
    const started = performance.now();
    const r = await execOk(t(), argv, { timeout: 900_000 });
    recordMeasurement(`${label} (s)`, (performance.now() - started) / 1000);
    return r;
  };
  const checkpoints = () => getCheckpoints(vm);
  const restore = async (label: string, until?: string) => {
    const started = performance.now();
    const image = await restoreBackup(t(), backupDir, `${work}/restore-${label}`, until);
    recordMeasurement(`virtnbdrestore ${label} (s)`, (performance.now() - started) / 1000);
    return image;
  };
  const fileInImage = (image: string, file: string) => fileSha256InImage(t(), image, file, work);

  before(async () => {
    const { vms, runId } = lab();
    vm = await vms.createTestVM('nbd');
    backupDir = `${INNER_ROOT}/backups/${vm.name}`;
    work = `${INNER_ROOT}/tmp/${runId}-nbd`;
    lab().cleanup.register(`backup and restore folders of ${vm.name}`, async () => {
      await execOk(t(), ['rm', '-rf', backupDir, work]);
    });
    await execOk(t(), ['mkdir', '-p', work]);
    await vms.startVM(vm);
    sha.a = await vm.writeData('/root/a.bin', 4096);
  });
  after(async () => {
    if (vm) await lab().vms.destroyVM(vm);
  });

  it('full backup: exit 0, checkpoint virtnbdbackup.0 and its bitmap in the qcow2', async () => {
    await run('virtnbdbackup full', ['virtnbdbackup', '-d', vm.name, '-l', 'full', '-o', backupDir, '-n']);
    expect(await checkpoints()).to.deep.equal(['virtnbdbackup.0']);
    expect(await getBitmaps(vm)).to.deep.equal(['virtnbdbackup.0']);
  });

  it('incremental backup after new writes: a second checkpoint and bitmap, and far less data than the full', async () => {
    sha.b = await vm.writeData('/root/b.bin', 1024);
    await run('virtnbdbackup inc', ['virtnbdbackup', '-d', vm.name, '-l', 'inc', '-o', backupDir, '-n']);
    expect(await checkpoints()).to.deep.equal(['virtnbdbackup.0', 'virtnbdbackup.1']);
    expect(await getBitmaps(vm)).to.deep.equal(['virtnbdbackup.0', 'virtnbdbackup.1']);
    const sizes = (await execOk(t(), `stat -c '%n %s' ${shellQuote([backupDir])}/vda.*.data`)).stdout;
    const size = (kind: string) => Number(sizes.split('\n').find((l) => l.includes(`.${kind}.`))?.split(' ')[1]);
    expect(size('full'), sizes).to.be.greaterThan(4 * 2 ** 20);
    expect(size('inc'), sizes).to.be.lessThan(size('full') * 0.5);
  });

  it('restore until virtnbdbackup.0 gives the disk as it was at the full backup', async () => {
    const image = await restore('full', 'virtnbdbackup.0');
    expect(await fileInImage(image, '/root/a.bin')).to.equal(sha.a);
    expect(await fileInImage(image, '/root/b.bin'), 'b.bin was written after the full backup').to.equal(undefined);
  });

  it('restore of the full + incremental chain gives the disk as it was at the incremental', async () => {
    const image = await restore('chain');
    expect(await fileInImage(image, '/root/a.bin')).to.equal(sha.a);
    expect(await fileInImage(image, '/root/b.bin')).to.equal(sha.b);
  });

  it('after the guest shuts down, both bitmaps are persisted in its qcow2 (qemu-img info)', async () => {
    await lab().vms.shutdownVM(vm);
    expect(await getBitmaps(vm)).to.deep.equal(['virtnbdbackup.0', 'virtnbdbackup.1']);
  });
});
