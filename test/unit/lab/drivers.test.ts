import { expect } from 'chai';
import { getLabConfig } from '../../../lib/config.js';
import { driverFor } from '../../../lib/lab/drivers/index.js';

// Every provider LAB_PROVIDER accepts has a driver of its own name; the lab's
// lifecycle asks the driver, never the provider's name.
describe('lab drivers', () => {
  for (const provider of ['vagrant', 'local'] as const) {
    it(`LAB_PROVIDER=${provider} gets the ${provider} driver`, () => {
      expect(getLabConfig({ LAB_PROVIDER: provider, SUT: 'none' }).provider).to.equal(provider);
      expect(driverFor(provider).name).to.equal(provider);
    });
  }

  it('only the vagrant driver has a lab host (one that can die, be replaced and be taken down)', () => {
    expect(driverFor('vagrant').hasLabHost).to.equal(true);
    expect(driverFor('local').hasLabHost).to.equal(false);
  });

  it('the local driver never reports a lab host death, so lab-up never retries on its behalf', async () => {
    const config = getLabConfig({ LAB_PROVIDER: 'local', SUT: 'none' });
    expect(await driverFor('local').diedDuringCreate(config, { hostStarted: true, mark: 0 })).to.equal(undefined);
  });
});
