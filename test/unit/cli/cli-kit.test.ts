import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { execa } from 'execa';

describe('stopAfterCurrent (Ctrl-C in bench and soak)', function () {
  this.timeout(30_000);
  const child = path.join(import.meta.dirname, '..', '..', 'support', 'stop-after-current-child.ts');

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`lets the running step go on after one ${signal}, and exits ${code} at a second`, async () => {
      const proc = execa('node', ['--import', 'tsx', child], { reject: false, timeout: 20_000 });
      try {
        await new Promise<void>((resolve, reject) => {
          proc.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
          void proc.then((r) => reject(new Error(`child ended before it was ready: ${r.stderr}`)));
        });
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
