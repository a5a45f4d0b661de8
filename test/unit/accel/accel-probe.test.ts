import path from 'node:path';
import { expect } from 'chai';
import { probeAccel } from '../../../lib/accel/accel-probe.js';
import { ensureProbeKit, type ProbeKit } from '../../../lib/accel/probe-kit.js';
import { getLabConfig } from '../../../lib/config.js';
import { LocalTransport } from '../../../lib/transport/local-transport.js';

// Real QEMU, real kernel: the probe is what decides KVM vs TCG, so it is tested
// on both outcomes with nothing faked. The KVM answer depends on the machine
// and is not asserted here; `make doctor` prints it.
describe('probeAccel (real qemu-system-x86_64 booting the probe kit)', function () {
  this.timeout(180_000);
  const t = new LocalTransport();
  let kit: ProbeKit;
  before(async () => {
    kit = await ensureProbeKit(path.join(getLabConfig().artifactsDir, 'probe'));
  });

  it('finds TCG usable: the probe guest reaches userspace and says so', async () => {
    const r = await probeAccel(t, kit, 'tcg', 120_000);
    expect(r, r.detail).to.include({ accel: 'tcg', usable: true });
    expect(r.detail).to.match(/^a guest reached userspace in \d+\.\ds$/);
  });

  it('finds an accelerator unusable when the guest misses the deadline, and kills it', async () => {
    const r = await probeAccel(t, kit, 'tcg', 1_000);
    expect(r).to.include({ usable: false });
    expect(r.detail).to.match(/did not reach userspace within 1s/);
    const left = await t.exec(['pgrep', '-f', '--', `-initrd ${kit.initrd}`]);
    expect(left.stdout.trim(), 'a probe qemu is still running').to.equal('');
  });

  it('finds KVM unusable on a host without /dev/kvm access, without starting qemu', async () => {
    // A transport whose commands cannot see /dev/kvm: the probe must say so plainly.
    const noKvm = { ...t, name: 'no-kvm', exec: (cmd: readonly string[] | string, o?: object) =>
      t.exec(typeof cmd === 'string' ? cmd : cmd.map((a) => a.replace('/dev/kvm', '/dev/vmsnap-lab-no-kvm')), o) , close: t.close };
    const r = await probeAccel(noKvm, kit, 'kvm', 5_000);
    expect(r).to.include({ usable: false, detail: 'no usable /dev/kvm on this host' });
  });
});
