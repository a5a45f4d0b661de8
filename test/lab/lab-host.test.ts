import { expect } from 'chai';
import { getLabConfig } from '../../lib/config.js';
import { driverFor } from '../../lib/lab/drivers/index.js';
import { labHostBootId } from '../../lib/lab/lab-health.js';
import { execOk } from '../../lib/transport/transport.js';
import { lab } from '../support/lab-fixture.js';

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
