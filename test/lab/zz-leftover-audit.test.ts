import { expect } from 'chai';
import { INNER_ROOT } from '../../lib/lab/lab-paths.js';
import { execOk } from '../../lib/transport/transport.js';
import { lab } from '../support/lab-fixture.js';

// Last file of the lab suite (zz-): release everything, then prove nothing the
// run created is left in the lab host. Runs after the other files by name.
describe('Lab: nothing left behind after the suite', function () {
  before(async () => {
    await lab().cleanup.releaseAllOrThrow();
  });

  const sh = async (script: string) => (await execOk(lab().lab.transport, script)).stdout.trim();

  it('no test guest of this run is defined', async () => {
    const { vms } = lab();
    const left = (await sh('virsh -c qemu:///system list --all --name')).split('\n').filter((n) => n.startsWith(vms.vmName('')));
    expect(left).to.deep.equal([]);
  });

  it('no guest disk, backup, restore or temporary folder remains', async () => {
    expect(await sh(`find ${INNER_ROOT}/guests ${INNER_ROOT}/backups ${INNER_ROOT}/tmp -mindepth 1`)).to.equal('');
  });

  it('no checkpoint metadata of this run remains in libvirt', async () => {
    const { vms } = lab();
    expect(await sh(`ls /var/lib/libvirt/qemu/checkpoint/ 2>/dev/null | grep -F '${vms.vmName('')}' || true`)).to.equal('');
  });

  it('no qemu-nbd, virtnbdbackup or test-guest QEMU process, and no NBD socket is left', async () => {
    const { vms } = lab();
    expect(await sh(`pgrep -a -f 'qemu-nbd|virtnbdbackup|virtnbdrestore|${vms.vmName('')}' | grep -v pgrep || true`)).to.equal('');
    expect(await sh('ls /var/tmp/ | grep -E "^virtnbdbackup\\." || true')).to.equal('');
    // VMSnap's own NBD socket path (-f /var/lib/libvirt/qemu/virtnbdbackup.<pid>).
    expect(await sh('ls /var/lib/libvirt/qemu/ | grep -E "^virtnbdbackup\\." || true')).to.equal('');
  });

  it('no VMSnap lock file and no lab user is left', async () => {
    expect(await sh('ls /tmp/vmsnap.lock 2>/dev/null || true')).to.equal('');
    expect(await sh('getent passwd vmsnap-lab-user || true')).to.equal('');
  });
});
