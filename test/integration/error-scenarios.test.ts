import { expect } from 'chai';
import { execOk, shellQuote } from '../../lib/transport/transport.js';
import { backupDataProblems, backupExists, getBitmaps, getCheckpoints } from '../../lib/vmsnap/assertions.js';
import { periodFolder } from '../../lib/vmsnap/periods.js';
import { restrictVMPermissions } from '../../lib/vmsnap/fixtures.js';
import { describeRun, vmsnapSaid, EXIT } from '../../lib/vmsnap/vmsnap-runner.js';
import type { TestVM } from '../../lib/vm/test-vm.js';
import { lab } from '../support/lab-fixture.js';
import { itKnownDefect } from '../support/known-defect.js';
import { execVMSnap, execVMSnapCommandLine, freshDir, labNow, labUser, lockFolder } from '../support/vmsnap-fixture.js';
import { DEFECTS } from './known-defects.js';

// Plan §6 "Error Scenarios", plus every documented exit code (1 to 8) and two
// VMSnap processes at once. What the plan mocks is done for real in the lab
// host: a PATH that really lacks a program, a real permission restriction, a
// lock really held by another process.
describe('Error Scenarios', function () {
  const t = () => lab().lab.transport;
  let testVM: TestVM;

  before(async () => {
    testVM = await lab().vms.createTestVM('errors');
  });
  after(async () => {
    if (testVM) await lab().vms.destroyVM(testVM);
  });

  /** A PATH with everything of /usr/bin and /usr/sbin (symlinked) except `program`. */
  const pathWithout = async (program: string) => {
    const d = await freshDir(`path-without-${program}`);
    await execOk(t(), `cp -rs /usr/bin ${d}/bin && cp -rs /usr/sbin ${d}/sbin && rm -f ${d}/bin/${program} ${d}/sbin/${program}`);
    const path = `${d}/bin:${d}/sbin`;
    // The restriction must be real: the program is really not found on that PATH.
    expect((await t().exec(['/usr/bin/env', `PATH=${path}`, '/bin/sh', '-c', `command -v ${program}`])).exitCode, `${program} still on ${path}`).to.not.equal(0);
    return path;
  };

  for (const program of ['virsh', 'qemu-img', 'virtnbdbackup']) {
    it(`fails gracefully when ${program} is missing: exit 4 (ERR_REQS), naming ${program}`, async () => {
      const result = await execVMSnap([`--domains=${testVM.name}`, '--status'], { path: await pathWithout(program) });
      expect(result.exitCode, describeRun(result)).to.equal(EXIT.ERR_REQS);
      expect(result.output).to.include(program);
    });
  }

  // The plan reads these messages from stderr; VMSnap never promises stderr (it logs every
  // level to stdout, and its own suite reads "stdout or stderr"), so the tests read both:
  // docs/vmsnap-known-defects.md, VMSNAP-2 (an enhancement, not a defect).
  it('handles non-existent domain gracefully: exit 1 (ERR_DOMAINS), naming it', async () => {
    const name = lab().vms.vmName('non-existent-vm');
    const result = await execVMSnap([`--domains=${name}`, '--status']);
    expect(result.exitCode, describeRun(result)).to.equal(EXIT.ERR_DOMAINS);
    expect(result.output).to.include(name);
  });

  itKnownDefect(
    'handles permission errors: exit 3 (ERR_MAIN) naming the permission problem (restriction: VMSnap runs as an unprivileged member of the libvirt group; the VM’s backup folder is root’s, mode 0755)',
    DEFECTS.backupFailureExitsZero,
    async (known) => {
      const out = await freshDir('perms');
      const user = await labUser();
      await restrictVMPermissions(t(), testVM, out);
      const result = await execVMSnap([`--domains=${testVM.name}`, `--output=${out}`, '--backup'], { user });
      expect(await backupExists(t(), out, testVM.name), 'a backup was written despite the restriction').to.equal(false);
      expect(result.output.toLowerCase(), describeRun(result)).to.include('permission');
      await known(() => expect(result.exitCode, `${describeRun(result)}\n  VMSnap said: ${vmsnapSaid(result, /failed with code/)}`).to.equal(EXIT.ERR_MAIN));
    },
  );

  describe('every documented exit code', function () {
    // 1 (ERR_DOMAINS): every way of naming no domain, with each command (below).

    it('2 (ERR_OUTPUT_DIR): --backup without --output', async () => {
      const r = await execVMSnap([`--domains=${testVM.name}`, '--backup']);
      expect(r.exitCode, describeRun(r)).to.equal(EXIT.ERR_OUTPUT_DIR);
      expect(r.output).to.include('No output directory specified');
    });

    it('3 (ERR_MAIN): the lock is held by another process and never released (VMSnap’s clock runs 50x: its 10 retries of 10 s take 2 s)', async () => {
      const lock = `${await lockFolder()}/vmsnap.lock`;
      await execOk(t(), ['touch', lock]);
      try {
        const r = await execVMSnap([`--domains=${testVM.name}`, '--status'], { clockSpeed: 50 });
        expect(r.exitCode, describeRun(r)).to.equal(EXIT.ERR_MAIN);
        expect(r.output).to.include('Failed to acquire lock');
      } finally {
        await execOk(t(), ['rm', '-f', lock]);
      }
    });

    // 4 (ERR_REQS): the three missing-program tests above.

    itKnownDefect(
      '5 (ERR_SCRUB): a scrub that cannot remove the bitmaps (restriction: run as an unprivileged member of the libvirt group; the shut-off disk is root’s)',
      DEFECTS.scrubFailureExitsZero,
      async (known) => {
        const out = await freshDir('scrubfail');
        const b = await execVMSnap([`--domains=${testVM.name}`, `--output=${out}`, '--backup']);
        expect(b.exitCode, describeRun(b)).to.equal(0);
        expect(await getBitmaps(testVM)).to.deep.equal(['virtnbdbackup.0']);
        const user = await labUser();
        const r = await execVMSnap([`--domains=${testVM.name}`, '--scrub', '--scrubType=*'], { user });
        // The restriction is real: the bitmap is still on the disk.
        expect(await getBitmaps(testVM), 'bitmaps after the failed scrub').to.deep.equal(['virtnbdbackup.0']);
        await known(() => expect(r.exitCode, `${describeRun(r)}\n  VMSnap said: ${vmsnapSaid(r, /Error removing bitmap/)}`).to.equal(EXIT.ERR_SCRUB));
      },
    );

    itKnownDefect('6 (ERR_LOCK_RELEASE): the lock file cannot be removed at the end (made immutable while VMSnap runs)', DEFECTS.lockReleaseUnchecked, async (known) => {
      const out = await freshDir('lockrelease');
      const lock = `${await lockFolder()}/vmsnap.lock`;
      // Start a backup (several seconds), wait for its lock file, make it immutable
      // (chattr +i: even root cannot unlink it), and collect VMSnap's exit code.
      const cmd = await execVMSnapCommandLine([`--domains=${testVM.name}`, `--output=${out}`, '--backup']);
      const l = shellQuote([lock]);
      const script = `cd / && (${cmd} >/dev/null 2>&1 </dev/null; echo $? > ${l}.rc) &
for i in $(seq 1 600); do [ -e ${l} ] && break; sleep 0.05; done
chattr +i ${l} && echo immutable
wait
echo "rc=$(cat ${l}.rc)"; lsattr ${l} 2>/dev/null; chattr -i ${l}; rm -f ${l} ${l}.rc`;
      const r = await execOk(t(), script, { timeout: 600_000 });
      expect(r.stdout, 'the lock file was made immutable while VMSnap ran').to.include('immutable');
      const rc = Number(/rc=(\d+)/.exec(r.stdout)?.[1]);
      const left = r.stdout.split('\n').find((l) => l.includes('vmsnap.lock') && !l.startsWith('rc=')) ?? '';
      await known(() => expect(rc, `VMSnap exited ${rc}, its lock file still there (${left.trim()})`).to.equal(EXIT.ERR_LOCK_RELEASE));
    });

    // 7 for every pair of the three commands, and all three: checkCommand runs before any
    // of them, so nothing is backed up or scrubbed (the guest keeps its checkpoints).
    for (const commands of [
      ['--status', '--backup'],
      ['--status', '--scrub'],
      ['--backup', '--scrub'],
      ['--status', '--backup', '--scrub'],
    ]) {
      it(`7 (ERR_TOO_MANY_COMMANDS): ${commands.join(' and ')} together, and nothing done`, async () => {
        const out = await freshDir('exit');
        const before = await getCheckpoints(testVM);
        const r = await execVMSnap([`--domains=${testVM.name}`, `--output=${out}`, '--scrubType=*', ...commands]);
        expect(r.exitCode, describeRun(r)).to.equal(EXIT.ERR_TOO_MANY_COMMANDS);
        expect(r.output.trim(), describeRun(r)).to.equal('Only one command can be run at a time');
        expect(await backupExists(t(), out, testVM.name), 'a backup was written').to.equal(false);
        expect(await getCheckpoints(testVM), 'the guest’s checkpoints').to.deep.equal(before);
      });
    }

    it('8 (ERR_INVALID_SCRUB_TYPE): --scrubType that is none of checkpoint, bitmap, both, *', async () => {
      const r = await execVMSnap([`--domains=${testVM.name}`, '--scrub', '--scrubType=everything']);
      expect(r.exitCode, describeRun(r)).to.equal(EXIT.ERR_INVALID_SCRUB_TYPE);
      expect(r.stdout, describeRun(r)).to.include('\nInvalid scrub type: everything\n');
    });

    it('8 (ERR_INVALID_SCRUB_TYPE): --scrub with no --scrubType at all, and nothing scrubbed', async () => {
      const before = await getCheckpoints(testVM);
      const r = await execVMSnap([`--domains=${testVM.name}`, '--scrub']);
      expect(r.exitCode, describeRun(r)).to.equal(EXIT.ERR_INVALID_SCRUB_TYPE);
      expect(r.stdout, describeRun(r)).to.include('\nInvalid scrub type: undefined\n');
      expect(await getCheckpoints(testVM)).to.deep.equal(before);
    });

    // 1 for every way of naming domains that names none, for each command that takes
    // --domains: VMSnap's own line for it (a name libvirt does not know reaches virsh,
    // whose own error VMSnap prints and whose exit code 1 it passes on).
    describe('1 (ERR_DOMAINS) for each way of naming no domain, with each command', function () {
      const missing = () => lab().vms.vmName('no-such-domain');
      const nothing = () => `${lab().vms.vmName('matches-nothing-')}*`;
      const ways: [string, () => string[], () => string][] = [
        ['no --domains', () => [], () => 'No domains specified'],
        ['an empty --domains=', () => ['--domains='], () => 'No domains specified'],
        ['a domain libvirt does not have', () => [`--domains=${missing()}`], () => `error: failed to get domain '${missing()}'`],
        ['a pattern that matches none', () => [`--domains=${nothing()}`], () => `No matching domains found for: ${nothing()}`],
        ['a list of patterns that match none', () => [`--domains=${nothing()},${nothing()}x`], () => `No matching domains found for: ${nothing()},${nothing()}x`],
      ];
      for (const [command, extra] of [
        ['--backup', (out: string) => [`--output=${out}`]],
        ['--scrub', () => ['--scrubType=*']],
        ['--status', () => []],
      ] as const) {
        for (const [way, domains, said] of ways) {
          // Status without --domains is status of every domain ("*", VMSnap's default): not an error.
          if (command === '--status' && (way === 'no --domains' || way === 'an empty --domains=')) continue;
          // The scrub reads --domains as the backup does (the same checks, its own copy): none, and a pattern.
          if (command === '--scrub' && way !== 'no --domains' && way !== 'a pattern that matches none') continue;
          it(`${command} with ${way}`, async () => {
            const out = await freshDir('exit');
            const r = await execVMSnap([...domains(), ...extra(out), command]);
            expect(r.exitCode, describeRun(r)).to.equal(EXIT.ERR_DOMAINS);
            expect(r.output.split('\n').map((l) => l.trim()), describeRun(r)).to.include(said());
            expect(await backupExists(t(), out, missing()), 'a backup was written').to.equal(false);
          });
        }
      }
    });
  });

  describe('two VMSnap processes at once', function () {
    let a: TestVM;
    let b: TestVM;
    before(async () => {
      [a, b] = (await Promise.all([lab().vms.createTestVM('lock-a'), lab().vms.createTestVM('lock-b')])) as [TestVM, TestVM];
    });
    after(async () => {
      await Promise.all([a, b].filter(Boolean).map((vm) => lab().vms.destroyVM(vm)));
    });

    it('the second waits for the first one’s lock: both succeed, their logged work never overlaps, nor do their virtnbdbackup runs', async () => {
      const out = await freshDir('lock');
      const cmdA = await execVMSnapCommandLine([`--domains=${a.name}`, `--output=${out}`, '--backup']);
      const cmdB = await execVMSnapCommandLine([`--domains=${b.name}`, `--output=${out}`, '--backup']);
      const lock = shellQuote([`${await lockFolder()}/vmsnap.lock`]);
      // Anchored on python: the sampling shell's own command line must not match.
      const mine = shellQuote([`^[^ ]*python[0-9.]* [^ ]*virtnbdbackup .*${lab().vms.vmName('lock-')}`]);
      // Both start together. Every line each run writes (VMSnap's log and the
      // virtnbdbackup output it passes through, all written once it holds the lock)
      // is stamped as it arrives; a sampler counts this test's virtnbdbackup processes every 0.1 s.
      const script = `cd / && rcs=$(mktemp -d)
stamp() { while IFS= read -r line; do [ -n "$line" ] && echo "$(date +%s.%N) $1 $line"; done; true; }
((${cmdA} </dev/null 2>&1; echo $? > $rcs/a) | stamp a >> $rcs/log) &
for i in $(seq 1 200); do [ -e ${lock} ] && break; sleep 0.05; done
((${cmdB} </dev/null 2>&1; echo $? > $rcs/b) | stamp b >> $rcs/log) &
max=0; while [ ! -e $rcs/a ] || [ ! -e $rcs/b ]; do n=$(pgrep -c -f ${mine} || true); [ "$n" -gt "$max" ] && max=$n; sleep 0.1; done
wait
echo "a=$(cat $rcs/a) b=$(cat $rcs/b) max=$max"; cat $rcs/log; rm -rf $rcs`;
      const r = await execOk(t(), script, { timeout: 900_000 });
      const m = /a=(\d+) b=(\d+) max=(\d+)/.exec(r.stdout);
      expect(m, r.stdout).to.not.equal(null);
      expect(Number(m![1]), `exit of the first\n${r.stdout}`).to.equal(0);
      expect(Number(m![2]), `exit of the second\n${r.stdout}`).to.equal(0);
      // Each run's logged work, first to last line: the one that waited starts after the other ends.
      const span = (tag: string) => {
        const times = [...r.stdout.matchAll(new RegExp(`^(\\d+\\.\\d+) ${tag} `, 'gm'))].map((x) => Number(x[1]));
        expect(times.length, `no output of run ${tag}\n${r.stdout}`).to.be.greaterThan(0);
        return { first: Math.min(...times), last: Math.max(...times) };
      };
      const [sa, sb] = [span('a'), span('b')];
      const apart = sa.last < sb.first || sb.last < sa.first;
      expect(apart, `the two runs' logged work overlaps: a ${sa.first}-${sa.last}, b ${sb.first}-${sb.last}\n${r.stdout}`).to.equal(true);
      expect(Number(m![3]), 'most virtnbdbackup processes of this test at once').to.equal(1);
      const folder = periodFolder('month', await labNow());
      for (const vm of [a, b]) expect(await backupDataProblems(t(), `${out}/${vm.name}/${folder}`), `the backup of ${vm.name}`).to.deep.equal([]);
    });
  });
});
