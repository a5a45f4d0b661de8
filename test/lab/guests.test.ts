import { expect } from 'chai';
import { INNER_ROOT } from '../../lib/lab/lab-paths.js';
import { execOk } from '../../lib/transport/transport.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { recordMeasurement } from '../support/measurements.js';
import { lab } from '../support/lab-fixture.js';

describe('Lab: test guests (two qcow2 overlays on the cached image)', function () {
  let a: TestVM;
  let b: TestVM;

  before(async () => {
    const { vms } = lab();
    [a, b] = await Promise.all([vms.createTestVM('guest-a'), vms.createTestVM('guest-b')]);
    const started = performance.now();
    await Promise.all([vms.startVM(a), vms.startVM(b)]);
    recordMeasurement('two test guests started to agent, in parallel (s)', (performance.now() - started) / 1000);
  });
  after(async () => {
    await Promise.all([a, b].filter(Boolean).map((vm) => lab().vms.destroyVM(vm)));
  });

  it('gives each guest an overlay whose backing file is the cached image', async () => {
    const { lab: l } = lab();
    for (const vm of [a, b]) {
      const info = JSON.parse((await execOk(l.transport, ['qemu-img', 'info', '-U', '--output=json', vm.disk])).stdout) as { 'backing-filename'?: string };
      expect(info['backing-filename']).to.equal(`${l.state.guestImage.dir}/disk.qcow2`);
      expect(vm.disk.startsWith(`${INNER_ROOT}/guests/`)).to.equal(true);
    }
  });

  it('runs the guests with the accelerator the inner probe chose', async () => {
    const { lab: l } = lab();
    const xml = (await a.virsh(['dumpxml', a.name])).stdout;
    expect(xml).to.match(new RegExp(`<domain type='${l.state.innerAccel.accel === 'kvm' ? 'kvm' : 'qemu'}'`));
  });

  it('reaches both guests through the guest agent: ping and an exec round trip', async () => {
    for (const vm of [a, b]) {
      await vm.agent('guest-ping');
      expect((await vm.sh('echo "$((6 * 7))"')).trim()).to.equal('42');
    }
  });

  it('keeps the guests apart: a file written in one is not in the other', async () => {
    await a.sh('echo only-in-a > /root/marker && sync');
    expect((await b.exec('/bin/cat', ['/root/marker'])).exitCode).to.not.equal(0);
  });
});
