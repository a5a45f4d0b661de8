import { expect } from 'chai';
import { staleSentinel } from '../../../lib/lab/sentinel.js';

// make test's sentinel proves the lab leaves what it did not create alone; the
// sweep of sentinels killed runs left must itself leave a live run's alone (two
// shards at once: the second one's sweep removed the first's, seen here).
describe('sentinel sweep', () => {
  const running = (pid: number) => pid === 4242;

  it("leaves a running run's sentinel domain and network alone", () => {
    expect(staleSentinel('sentinel-vmsnap-lab-017c64-p4242', running)).to.equal(false);
    expect(staleSentinel('sentinel-vmsnap-lab-017c64-p4242-net', running)).to.equal(false);
  });

  it('sweeps the sentinel of a run whose process is gone, and one named before the pid was in the name', () => {
    expect(staleSentinel('sentinel-vmsnap-lab-017c64-p4243', running)).to.equal(true);
    expect(staleSentinel('sentinel-vmsnap-lab-017c64-p4243-net', running)).to.equal(true);
    expect(staleSentinel('sentinel-vmsnap-lab-017c64', running)).to.equal(true);
    expect(staleSentinel('sentinel-vmsnap-lab-017c64-net', running)).to.equal(true);
  });

  it('never takes any other name for a sentinel', () => {
    for (const name of ['default', 'vmsnap-lab-labhost', 'sentinel-vmsnap-lab-zzzzzz', 'sentinel-vmsnap-lab-017c64-p12x', 'my-sentinel-vmsnap-lab-017c64']) {
      expect(staleSentinel(name, () => false), name).to.equal(false);
    }
  });

  it('this process counts as running (the real pid check)', () => {
    expect(staleSentinel(`sentinel-vmsnap-lab-017c64-p${process.pid}`)).to.equal(false);
  });
});
