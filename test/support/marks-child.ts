import { expect } from 'chai';
import type { KnownDefect } from '../../lib/report/known-defects.js';
import { itKnownDefect } from './known-defect.js';
import { notRun } from './test-marks.js';

// A Mocha spec run by test/unit/report/test-marks.test.ts with the suites' own
// reporters: each way a test can be marked, and the report it must give.

const defect: KnownDefect = { id: 'DEMO-1', summary: 'demo', link: 'docs/demo.md#demo-1', signature: /the demo defect/ };

describe('Marks', function () {
  it('passes plainly', () => {
    expect(1).to.equal(1);
  });
  itKnownDefect('fails with the defect', defect, async (known) => {
    await known(() => expect(0, 'the demo defect').to.equal(3));
  });
  itKnownDefect('fails otherwise', defect, async (known) => {
    await known(() => expect(0, 'something else').to.equal(3));
  });
  itKnownDefect('fails after the defect', defect, async (known) => {
    await known(() => expect(0, 'the demo defect').to.equal(3));
    expect(1, 'an assertion after the known one').to.equal(2);
  });
  itKnownDefect('fails with the signature outside known', defect, async (known) => {
    expect(0, 'the demo defect').to.equal(3);
    await known(() => undefined);
  });
  itKnownDefect('never reaches known', defect, async () => {
    expect(3).to.equal(3);
  });
  itKnownDefect('passes despite the mark', defect, async (known) => {
    await known(() => expect(3).to.equal(3));
  });
  it('cannot run here', function () {
    notRun(this, 'no such thing [here]');
  });
});
