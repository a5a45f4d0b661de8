import { expect } from 'chai';
import { done, notYet, pollUntil, PollTimeout } from '../../lib/poll.js';

describe('pollUntil', () => {
  it('returns the value of the first look that is done, having looked no more than needed', async () => {
    let looks = 0;
    const v = await pollUntil('the third look', async () => (++looks === 3 ? done('ready') : notYet(`look ${looks}`)), { timeoutMs: 5_000, intervalMs: 1 });
    expect(v).to.equal('ready');
    expect(looks).to.equal(3);
  });

  it('fails after the timeout, naming what it waited for and what it saw last (never ends silently)', async () => {
    let looks = 0;
    const started = Date.now();
    const error = await pollUntil('a guest agent answering', async () => notYet(`refused ${++looks}`), { timeoutMs: 60, intervalMs: 10, evidence: async () => 'serial: kernel panic' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(PollTimeout);
    expect((error as Error).message).to.match(new RegExp(`^a guest agent answering: not so after 60 ms \\(last seen: refused ${looks}\\)\\nserial: kernel panic$`));
    expect(looks, 'looked more than once before giving up').to.be.greaterThan(1);
    expect(Date.now() - started).to.be.at.least(60);
  });

  it('looks once more at the deadline rather than giving up during a pause', async () => {
    let looks = 0;
    // The second look is due after 1000 ms, past the 50 ms deadline: it happens at the deadline.
    await pollUntil('two looks', async () => (++looks === 2 ? done(true) : notYet('no')), { timeoutMs: 50, intervalMs: 1_000 });
    expect(looks).to.equal(2);
  });

  it('an error from a look ends the wait at once, unchanged', async () => {
    let looks = 0;
    const error = await pollUntil(
      'sshd up',
      async () => {
        looks++;
        throw new Error('sshd exited with 255');
      },
      { timeoutMs: 5_000, intervalMs: 1 },
    ).catch((e: Error) => e);
    expect((error as Error).message).to.equal('sshd exited with 255');
    expect(looks).to.equal(1);
  });
});
