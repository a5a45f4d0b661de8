import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { startReadyChild } from '../../support/ready-child.js';

describe('stopAfterCurrent (Ctrl-C in bench and soak)', function () {
  this.timeout(30_000);

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`lets the running step go on after one ${signal}, and exits ${code} at a second`, async () => {
      const { child: proc } = await startReadyChild('stop-after-current-child.ts', []);
      try {
        proc.kill(signal);
        await sleep(1_000);
        expect(proc.exitCode, 'the child exited at the first signal').to.equal(null);
        proc.kill(signal);
        const r = await proc;
        expect(r.timedOut, 'the child ignored the second signal').to.equal(false);
        expect(r.exitCode).to.equal(code);
        expect(r.all ?? `${r.stdout}${r.stderr}`).to.match(new RegExp(`${signal}: stopping after the running step[\\s\\S]*${signal} again: exiting now`));
      } finally {
        proc.kill('SIGKILL');
      }
    });
  }
});
