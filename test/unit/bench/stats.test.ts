import { expect } from 'chai';
import { stats, statsTable } from '../../../lib/bench/stats.js';

describe('bench stats', () => {
  it('gives min, median and max of an odd count, whatever the order', () => {
    expect(stats([3.04, 1, 2])).to.deep.equal({ n: 3, min: 1, median: 2, max: 3 });
  });
  it('takes the mean of the middle two as the median of an even count', () => {
    expect(stats([4, 1, 3, 2])).to.deep.equal({ n: 4, min: 1, median: 2.5, max: 4 });
  });
  it('refuses no samples instead of reporting zeros', () => {
    expect(() => stats([])).to.throw('no samples');
  });
  it('prints one aligned row per phase', () => {
    const table = statsTable([
      { name: 'lab-up (warm)', unit: 's', stats: stats([280, 300, 290]) },
      { name: 'guest boot', unit: 's', stats: stats([12.5]) },
    ]).split('\n');
    expect(table).to.have.length(3);
    expect(table[1]).to.match(/^lab-up \(warm\)\s+3\s+280\s+290\s+300\s+s$/);
    expect(table[2]).to.match(/^guest boot\s+1\s+12\.5\s+12\.5\s+12\.5\s+s$/);
  });
});
