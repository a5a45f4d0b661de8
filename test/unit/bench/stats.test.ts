import { expect } from 'chai';
import { compareTable, medianRatio, stats, statsTable } from '../../../lib/bench/stats.js';

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
  it('compares two results phase by phase: medians with their range, the ratio, and a dash for a phase only one run measured', () => {
    const row = (name: string, values: number[], unit = 's') => ({ name, unit, stats: stats(values) });
    const table = compareTable(
      [row('lab-up (warm)', [268, 282, 275]), row('guest ready', [34, 37, 36]), row('old phase', [1])],
      [row('guest ready', [4.1, 4.9, 4.5]), row('lab-up (warm)', [55, 58, 57]), row('new phase', [2])],
    ).split('\n');
    expect(table).to.deep.equal([
      '| phase | before: median (min–max, n) | after: median (min–max, n) | after / before |',
      '|---|---|---|---|',
      '| lab-up (warm) | 275 s (268–282, n=3) | 57 s (55–58, n=3) | 0.21x |',
      '| guest ready | 36 s (34–37, n=3) | 4.5 s (4.1–4.9, n=3) | 0.13x |',
      '| old phase | 1 s (1–1, n=1) | — | — |',
      '| new phase | — | 2 s (2–2, n=1) | — |',
    ]);
  });
  it("sets our whole suite's median over VMSnap's own, and gives none unless one run measured both", () => {
    const row = (name: string, values: number[], unit = 's') => ({ name, unit, stats: stats(values) });
    const ours = row('whole suite (lab + integration)', [2000, 2100, 1900]);
    const theirs = row("VMSnap's own integration suite (50 tests)", [700, 800, 600]);
    expect(medianRatio([row('guest boot', [16]), ours, theirs], 'whole suite', "VMSnap's own")).to.deep.equal({ ours: 2000, theirs: 700, ratio: 2.86 });
    expect(medianRatio([ours], 'whole suite', "VMSnap's own")).to.equal(undefined);
    expect(medianRatio([theirs], 'whole suite', "VMSnap's own")).to.equal(undefined);
    expect(medianRatio([ours, row("VMSnap's own integration suite", [5], 'MiB')], 'whole suite', "VMSnap's own")).to.equal(undefined);
  });
});
