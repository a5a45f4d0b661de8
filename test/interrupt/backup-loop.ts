import { INNER_ROOT } from '../../lib/lab/lab-paths.js';
import { execOk } from '../../lib/transport/transport.js';
import { lab } from '../support/lab-fixture.js';
import { execVMSnap, freshDir } from '../support/vmsnap-fixture.js';

// Not a test on its own: test/lab/interrupt.test.ts runs this file in a child
// Mocha and interrupts it with SIGINT while a backup is running. It backs one
// guest up over and over (INTERRUPT_TOOL=virtnbdbackup or vmsnap) until then.
describe('interrupt target', function () {
  it('backs a guest up until interrupted', async function () {
    const { vms, runId, cleanup } = lab();
    const t = lab().lab.transport;
    const vm = await vms.createTestVM('intr');
    await vms.startVM(vm);
    await vm.writeData('/root/data.bin', 8192);
    const tool = process.env.INTERRUPT_TOOL ?? 'virtnbdbackup';
    let dir: string;
    if (tool === 'vmsnap') {
      dir = await freshDir('intr');
    } else {
      dir = `${INNER_ROOT}/backups/${runId}-intr`;
      cleanup.register(`folder ${dir}`, async () => {
        await execOk(t, ['rm', '-rf', dir]);
      });
    }
    console.log(`interrupt target: backing up ${vm.name} with ${tool} into ${dir}`);
    for (let i = 0; i < 50; i++) {
      if (tool === 'vmsnap') {
        const r = await execVMSnap([`--domains=${vm.name}`, `--output=${dir}`, '--backup']);
        if (r.exitCode !== 0) throw new Error(`vmsnap exit ${r.exitCode}`);
      } else {
        await execOk(t, ['virtnbdbackup', '-d', vm.name, '-l', i === 0 ? 'full' : 'inc', '-o', dir, '-n'], { timeout: 600_000 });
      }
    }
    throw new Error('never interrupted: 50 backups ran to the end');
  });
});
