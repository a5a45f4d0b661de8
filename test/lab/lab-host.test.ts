import { expect } from 'chai';
import { getLabConfig } from '../../lib/config.js';
import { driverFor } from '../../lib/lab/drivers/index.js';
import { STATIC_KEY_PIN_UNIT } from '../../lib/lab/inner-setup.js';
import { labHostBootId } from '../../lib/lab/lab-health.js';
import { execOk } from '../../lib/transport/transport.js';
import { lab } from '../support/lab-fixture.js';
import { notRun } from '../support/test-marks.js';

// What lab-up must put right in a lab host it did not boot: a lab host restored
// from a saved state (lib/lab/saved-host.ts) wakes with the clock it was saved
// with and no lease in the new lab network, and one that was just saved stood
// still for seconds. A booted lab host must pass the same checks.
describe('Lab: the lab host as lab-up left it (booted or restored)', function () {
  it("keeps this machine's time: within 2 s (VMSnap's periods are days, the tests' clock moves are exact)", async () => {
    const { lab: l } = lab();
    const before = Date.now() / 1000;
    const there = Number((await execOk(l.transport, ['date', '+%s.%N'])).stdout.trim());
    const after = Date.now() / 1000;
    expect(there, `lab host ${there.toFixed(1)}, this machine ${before.toFixed(1)}..${after.toFixed(1)} (start path: ${l.state.startPath ?? 'n/a'})`).to.be.within(before - 2, after + 2);
  });

  it('holds the static keys test guests flip (the pin keeps a KVM vCPU open) and has every vCPU online again after pinning them on one', async function () {
    const { lab: l } = lab();
    if (!driverFor(l.state.provider).hasLabHost) notRun(this, 'the local provider has no lab host: lab-up pins static keys in a lab host only, this machine is not ours to pin');
    const out = (
      await execOk(
        l.transport,
        'echo "online=$(cat /sys/devices/system/cpu/online) present=$(cat /sys/devices/system/cpu/present)"; ' +
          `pid=$(systemctl show -p MainPID --value ${STATIC_KEY_PIN_UNIT}); echo "vcpu=$(ls -l /proc/$pid/fd 2>/dev/null | grep -c kvm-vcpu)"`,
      )
    ).stdout;
    const [online, present] = [/online=(\S+)/.exec(out)?.[1], /present=(\S+)/.exec(out)?.[1]];
    expect(present, out).to.match(/^0-\d+$/);
    expect(online, `the lab host's vCPUs online (${out.trim()})`).to.equal(present);
    expect(out, 'the pin holds one KVM vCPU').to.include('vcpu=1');
  });

  it('is what lab-up says it is: healthy to its provider (vagrant finds it running by its lease), and a restored one is a lab host of its own', async function () {
    const { lab: l } = lab();
    const config = getLabConfig();
    expect(await driverFor(l.state.provider).healthy(config, l.state), 'the provider sees the lab host up').to.equal(true);
    const id = await labHostBootId(l.transport);
    if (l.state.startPath === 'restored') {
      expect(id, 'a restored lab host adds its restore id to the boot id it was saved with').to.match(/^[0-9a-f-]{36}\+[0-9a-f-]{36}$/);
    } else {
      expect(id, 'a booted lab host is known by its boot id alone').to.match(/^[0-9a-f-]{36}$/);
    }
  });
});
