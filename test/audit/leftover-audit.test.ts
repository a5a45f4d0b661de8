import { expect } from 'chai';
import { readLeases, ownerGone } from '../../lib/lab/run-lease.js';
import { runLeftovers } from '../../lib/lab/run-reaper.js';
import { execOk } from '../../lib/transport/transport.js';
import { lab } from '../support/lab-fixture.js';

// The last file of every suite that uses the lab (listed last in its .mocharc):
// release everything this run made, then prove none of it is left in the lab
// host. Only this run's resources count (found by its run id): another run's,
// alive or dead, is not this run's leftover (dead ones are swept at the start).
describe('Lab: nothing left behind after the suite', function () {
  before(async () => {
    await lab().cleanup.releaseAllOrThrow();
  });

  const left = () => runLeftovers(lab().lab.transport, lab().runId);
  const sh = async (script: string) => (await execOk(lab().lab.transport, script)).stdout.trim();

  it('no test guest of this run is defined, and no checkpoint metadata of one remains in libvirt', async () => {
    const l = await left();
    expect(l.domains, `domains: ${JSON.stringify(l.domains)}`).to.deep.equal([]);
    expect(l.checkpointMetadata, `checkpoint metadata: ${JSON.stringify(l.checkpointMetadata)}`).to.deep.equal([]);
  });

  it('no guest disk, backup, restore or temporary folder of this run remains', async () => {
    const { files } = await left();
    expect(files, `files: ${JSON.stringify(files)}`).to.deep.equal([]);
  });

  it('no process of this run (VMSnap, virtnbdbackup, virsh, qemu-img) and no NBD socket of a dead virtnbdbackup is left', async () => {
    const l = await left();
    // The messages name what was found in full: chai shortens a long array to "[ Array(1) ]".
    expect(l.processes, `processes of this run still there: ${JSON.stringify(l.processes)}`).to.deep.equal([]);
    expect(l.nbdSockets, `NBD sockets of dead virtnbdbackup runs: ${JSON.stringify(l.nbdSockets)}`).to.deep.equal([]);
    // runLeftovers leaves guests' QEMU to libvirt; one that outlived its domain is a leftover all the same.
    expect(await sh(`pgrep -a -f -- 'guest=${lab().vms.vmName('')}' | grep -v pgrep || true`)).to.equal('');
  });

  it('no VMSnap lock file, and no lab user unless another live run may be using it', async () => {
    expect(await sh('ls /tmp/vmsnap.lock 2>/dev/null || true')).to.equal('');
    const others = (await readLeases(lab().lab.transport)).filter((l) => l.runId !== lab().runId && !ownerGone(l));
    if (others.length === 0) expect(await sh('getent passwd vmsnap-lab-user || true')).to.equal('');
  });
});
