import { expect } from 'chai';
import { flakeReport } from '../../../lib/report/flakes.js';
import type { CaseResult } from '../../../lib/report/junit-summary.js';

const run = (statuses: Record<string, CaseResult['status']>): CaseResult[] =>
  Object.entries(statuses).map(([name, status]) => ({ suite: 'lab', name, status, seconds: 1 }));

describe('flakeReport', () => {
  it('counts a test that failed and then passed in the next run as a flake', () => {
    const r = flakeReport([run({ a: 'passed', b: 'failed' }), run({ a: 'passed', b: 'passed' }), run({ a: 'passed', b: 'passed' })]);
    expect(r.flaky).to.deep.equal([{ name: 'lab: b', outcomes: 'FPP' }]);
    expect(r.tests).to.equal(2);
    expect(r.rate).to.equal(0.5);
  });
  it('does not count a pass followed by a failure in the last run as a flake, nor a test failing every time', () => {
    const r = flakeReport([run({ a: 'passed', b: 'failed' }), run({ a: 'failed', b: 'failed' })]);
    expect(r.flaky).to.deep.equal([]);
    expect(r.alwaysFailing).to.deep.equal(['lab: b']);
    expect(r.failedOther).to.deep.equal([{ name: 'lab: a', outcomes: 'PF' }]);
    expect(r.rate).to.equal(0);
  });
  it('reports a test that failed and was not run again (its lab host died) apart, neither flaky nor always failing', () => {
    const hook = '"before all" hook for "a"';
    const r = flakeReport([run({ a: 'passed', b: 'passed' }), run({ a: 'failed', b: 'passed', [hook]: 'failed' }), run({ b: 'failed' })]);
    expect(r.flaky).to.deep.equal([]);
    expect(r.alwaysFailing).to.deep.equal([]);
    expect(r.failedOther).to.deep.equal([
      { name: `lab: ${hook}`, outcomes: '-F-' },
      { name: 'lab: a', outcomes: 'PF-' },
      { name: 'lab: b', outcomes: 'PPF' },
    ]);
  });
  it('leaves skipped (not run) results out: a test never run is not a test of the rate', () => {
    const r = flakeReport([run({ a: 'skipped', b: 'passed' }), run({ a: 'skipped', b: 'passed' })]);
    expect(r.tests).to.equal(1);
    expect(r.flaky).to.deep.equal([]);
  });
  it('sees a flake across a run where the test did not run only when the next run passes', () => {
    expect(flakeReport([run({ a: 'failed' }), run({ a: 'skipped' }), run({ a: 'passed' })]).flaky).to.deep.equal([]);
    expect(flakeReport([run({ a: 'failed' }), run({ a: 'passed' })]).flaky).to.have.length(1);
  });
});
