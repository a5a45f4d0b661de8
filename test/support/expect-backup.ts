import { expect } from 'chai';
import { backupDataProblems, checkpointFiles, getCheckpoints } from '../../lib/vmsnap/assertions.js';
import { describeRun, type VMSnapResult } from '../../lib/vmsnap/vmsnap-runner.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { lab } from './lab-fixture.js';

/**
 * "It wrote a backup" as data, not a folder: `<out>/<vm>/<folder>` holds a
 * backup (data, checkpoint definitions, vmconfig), and libvirt's checkpoints of
 * the domain are exactly the ones that backup's chain records. Each message
 * carries VMSnap's run, so a failure shows what VMSnap said.
 */
export async function expectBackupIn(vm: TestVM, out: string, folder: string, r: VMSnapResult): Promise<void> {
  const t = lab().lab.transport;
  const dir = `${out}/${vm.name}/${folder}`;
  expect(await backupDataProblems(t, dir), `the backup in ${dir}\n${describeRun(r)}`).to.deep.equal([]);
  expect((await getCheckpoints(vm)).sort(), `libvirt's checkpoints of ${vm.name} against ${dir}/checkpoints\n${describeRun(r)}`).to.deep.equal(await checkpointFiles(t, dir));
}
