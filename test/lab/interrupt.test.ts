import { expect } from 'chai';
import { execa, type ResultPromise } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../lib/config.js';
import { runLeftovers, runPattern, sweepRun } from '../../lib/lab/run-reaper.js';
import { shellQuote, VIRSH_URI } from '../../lib/transport/transport.js';
import { lab } from '../support/lab-fixture.js';
import { notRun } from '../support/vmsnap-fixture.js';

// A real Ctrl-C: a child Mocha (test/interrupt/backup-loop.ts) backs a guest up
// in a loop; once the lab host shows a backup job on that guest, its whole
// process group gets SIGINT, as a terminal sends it. Then nothing of the child's
// run may be left in the lab host: no process, guest, checkpoint, folder, lock
// or NBD socket. Each run has its own id, so this suite's own guests are not involved.

/** True while any process of the group lives. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Lab: Ctrl-C in the middle of a backup leaves nothing behind', function () {
  this.timeout(900_000);

  for (const tool of ['virtnbdbackup', 'vmsnap'] as const) {
    it(`interrupted during a ${tool} backup: exit 130, no process, guest, checkpoint, folder, lock or NBD socket of that run is left`, async function () {
      if (tool === 'vmsnap' && lab().lab.state.sut.kind !== 'installed') notRun(this, 'no VMSnap in the lab');
      const t = lab().lab.transport;
      let output = '';
      // Mocha's own bin (npx would exit on the signal before its child is done).
      const child: ResultPromise = execa(process.execPath, ['node_modules/mocha/bin/mocha.js', '--no-config', '--node-option', 'import=tsx', '--require', 'test/support/lab-fixture.ts', '--timeout', '900000', '--reporter', 'dot', 'test/interrupt/backup-loop.ts'], {
        cwd: PROJECT_ROOT,
        detached: true,
        reject: false,
        all: true,
        env: { INTERRUPT_TOOL: tool, MOCHA_FILE: '/dev/null' },
      });
      child.all?.on('data', (d: Buffer) => (output += d.toString()));
      const pgid = child.pid as number;
      let runId: string | undefined;
      try {
        // The child's run id, then a backup job on its guest.
        let job = '';
        const until = Date.now() + 600_000;
        while (Date.now() < until && child.exitCode === null) {
          runId ??= /, run ([0-9a-f]+),/.exec(output)?.[1];
          if (runId) {
            const dom = `$(virsh ${VIRSH_URI.join(' ')} list --name | grep -F -- -${runId}-intr)`;
            const r = await t.exec(`d=${dom}; [ -n "$d" ] && virsh ${VIRSH_URI.join(' ')} domjobinfo "$d" | grep -E '^Operation: +Backup' && pgrep -f ${shellQuote([`virtnbdbackup.*${runPattern(runId)}`])}`);
            if (r.exitCode === 0) {
              job = r.stdout.trim();
              break;
            }
          }
          await sleep(500);
        }
        expect(job, `no backup job seen on the child's guest; child output:\n${output}`).to.not.equal('');
        process.kill(-pgid, 'SIGINT');
        const result = await child;
        for (let i = 0; i < 120 && groupAlive(pgid); i++) await sleep(1_000);
        expect(groupAlive(pgid), 'the interrupted run still has processes after 2 minutes').to.equal(false);
        expect(result.exitCode, output).to.equal(130);
        expect(output).to.match(/SIGINT: released \d+, failed 0/);
        const left = await runLeftovers(t, runId as string);
        expect(left, `left by run ${runId}`).to.deep.equal({ processes: [], domains: [], checkpointMetadata: [], files: [], nbdSockets: [] });
        // VMSnap's lock lives in the run's TMPDIR (gone with its folder above); the default one must not appear.
        expect((await t.exec('ls /tmp/vmsnap.lock 2>/dev/null || true')).stdout.trim()).to.equal('');
      } finally {
        if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
        // After the assertions: a failed run's leftovers must not stay in the lab for the tests after it.
        if (runId) await sweepRun(t, runId);
      }
    });
  }
});
