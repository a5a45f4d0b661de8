import { expect } from 'chai';
import { runPattern } from '../../../lib/lab/run-reaper.js';

describe('runPattern (pgrep pattern of one run)', () => {
  const re = new RegExp(runPattern('a1b2c3'));
  it("matches the run's guest names and folders", () => {
    expect(re.test('virtnbdbackup -d vmsnap-lab-a1b2c3-intr -l full -o /x')).to.equal(true);
    expect(re.test('node vmsnap.js --output=/var/lib/vmsnap-lab/backups/a1b2c3-intr-1')).to.equal(true);
  });
  it('never matches its own text (the shell that runs pkill), nor another run', () => {
    expect(re.test(`pgrep -f ${runPattern('a1b2c3')}`)).to.equal(false);
    expect(re.test('virtnbdbackup -d vmsnap-lab-ffa1b2c3-intr')).to.equal(false);
  });
  it('refuses anything but a hex run id (it goes into a shell pattern)', () => {
    expect(() => runPattern('a b')).to.throw('not a run id');
  });
});
