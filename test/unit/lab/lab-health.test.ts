import { expect } from 'chai';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { consoleSince, setConsoleAside, labHostGone, serialConsoleTrouble } from '../../../lib/lab/lab-health.js';
import type { ExecResult, Transport } from '../../../lib/transport/transport.js';

// Shaped like the lab host's real console log: a quiet kernel (no "Linux
// version" banner), terminal escapes, boots appended one after the other.
const boot1 = [
  '\x1b[!p]104[?7h[   19.549502] systemd-ssh-generator[242]: Failed to query local AF_VSOCK CID',
  'vmsnap-lab-host login: [  161.496358] kvm: kvm [890]: vcpu0, guest rIP: 0xffffffffbb099068 Unhandled WRMSR(0xc0010007) = 0xffff',
  '[  600.367780] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI',
  '[  600.369305] RIP: 0010:__schedule+0x432/0xbe0',
  '[  600.370503] Kernel panic - not syncing: Fatal exception in interrupt',
];
const boot2 = ['\x1b[!p]104[?7h[   27.936027] systemd-ssh-generator[241]: Failed to query local AF_VSOCK CID', '[  186.723984] kvm: kvm [591]: vcpu0 Unhandled WRMSR'];

describe('lab host health', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'health-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const log = (lines: string[]) => {
    const f = path.join(dir, 'serial.log');
    writeFileSync(f, lines.join('\n'));
    return f;
  };

  it('reports the oops and panic of the last boot', () => {
    const trouble = serialConsoleTrouble(log(boot1));
    expect(trouble).to.deep.equal([
      '[  600.367780] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI',
      '[  600.369305] RIP: 0010:__schedule+0x432/0xbe0',
      '[  600.370503] Kernel panic - not syncing: Fatal exception in interrupt',
    ]);
  });

  it('ignores the complaints of an earlier boot (the kernel clock went back)', () => {
    expect(serialConsoleTrouble(log([...boot1, ...boot2]))).to.deep.equal([]);
    expect(serialConsoleTrouble(log([...boot1, ...boot2, '[ 900.1] BUG: soft lockup - CPU#1 stuck for 22s!']))).to.deep.equal(['[ 900.1] BUG: soft lockup - CPU#1 stuck for 22s!']);
  });

  it('reports the boot before the last one for a lab host that restarted', () => {
    // Shaped like the churn's lab host that reset with nothing on its console, and like one that panicked first.
    expect(serialConsoleTrouble(log([...boot2, ...boot2]), 20, 'previous')).to.deep.equal([]);
    expect(serialConsoleTrouble(log([...boot1, ...boot2]), 20, 'previous')).to.deep.equal([
      '[  600.367780] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI',
      '[  600.369305] RIP: 0010:__schedule+0x432/0xbe0',
      '[  600.370503] Kernel panic - not syncing: Fatal exception in interrupt',
    ]);
    expect(serialConsoleTrouble(log(boot1), 20, 'previous')).to.deep.equal([]);
  });

  it('takes a banner and the clock going back to 0 as one boot', () => {
    const banner = ['[    0.000000] Linux version 6.12.117+deb13-amd64', '[    0.000000] Command line: console=ttyS0', '[    1.2] BUG: soft lockup - CPU#0 stuck for 22s!'];
    expect(serialConsoleTrouble(log([...boot1, ...banner]))).to.deep.equal(['[    1.2] BUG: soft lockup - CPU#0 stuck for 22s!']);
    expect(serialConsoleTrouble(log([...boot1, 'Linux version 6.12 (no clock)', ...banner]), 20, 'previous')).to.have.length(3);
  });

  it('reports a stalled vCPU once per kind of complaint, not the repeats or the boilerplate', () => {
    // Shaped like the soak's lab host whose vCPU 0 stopped taking interrupts.
    const stall = (t: number, jiffies: number) => [
      `[ ${t}.524799] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:`,
      `[ ${t}.527120] rcu: \t0-...!: (0 ticks this GP) idle=e9b0/0/0x0 softirq=184304/184304 fqs=0 (false positive?)`,
      `[ ${t}.528524] rcu: \tPossible timer handling issue on cpu=0 timer-softirq=79457 after ${jiffies} jiffies`,
    ];
    const blocked = (t: number, s: number) => [
      `[ ${t}.445285] INFO: task khugepaged:44 blocked for more than ${s} seconds.`,
      `[ ${t}.446087]       Not tainted 6.12.117+deb13-amd64 #1 Debian 6.12.117-1`,
      `[ ${t}.446432] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.`,
    ];
    const trouble = serialConsoleTrouble(log([...boot2, ...stall(2273, 5251), ...stall(2336, 21006), ...stall(2399, 36761), ...blocked(2418, 120), ...blocked(2539, 241)]));
    expect(trouble).to.deep.equal([
      '[ 2273.524799] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:',
      '[ 2273.528524] rcu: \tPossible timer handling issue on cpu=0 timer-softirq=79457 after 5251 jiffies',
      '[ 2418.445285] INFO: task khugepaged:44 blocked for more than 120 seconds.',
    ]);
  });

  it('sets the console aside before a lab-up attempt: the attempt is not blamed for an earlier lab host, nor blind after a longer one', () => {
    // Here, 2026-12-03: an earlier lab's console was longer than the new lab
    // host's (a new QEMU truncates the file), so reading from an offset missed
    // the new lab host's panic during lab-up.
    const f = log([...boot1, ...boot1, ...boot1]);
    setConsoleAside(f);
    expect(existsSync(f), 'the log is moved, not left for the new lab host to truncate').to.equal(false);
    expect(readFileSync(`${f}.previous`, 'utf8'), 'the earlier lab host\'s console is kept beside it').to.contain('Kernel panic');
    expect(consoleSince(f)).to.deep.equal({ trouble: [], boots: 0 });
    writeFileSync(f, `${boot2.join('\n')}\n`);
    expect(consoleSince(f)).to.deep.equal({ trouble: [], boots: 0 });
    // CI, 2026-12-02: the lab host's kernel panicked 79 s after boot, while lab-up set it up.
    appendFileSync(f, 'vmsnap-lab-host login: [   79.649060] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n[   79.651727] Kernel panic - not syncing: Fatal exception in interrupt\n');
    expect(consoleSince(f).trouble).to.deep.equal([
      'vmsnap-lab-host login: [   79.649060] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI',
      '[   79.651727] Kernel panic - not syncing: Fatal exception in interrupt',
    ]);
    // A reset that printed nothing: two kernels started.
    const quiet = log(['[    0.000000] Linux version 6.1.0-41-amd64', '[   12.0] ok', '[    0.000000] Linux version 6.1.0-41-amd64']);
    expect(consoleSince(quiet)).to.deep.equal({ trouble: [], boots: 2 });
    expect(consoleSince(path.join(dir, 'missing.log'))).to.deep.equal({ trouble: [], boots: 0 });
    setConsoleAside(path.join(dir, 'missing.log'));
  });

  it('says nothing when there is no console log', () => {
    expect(serialConsoleTrouble(path.join(dir, 'missing.log'))).to.deep.equal([]);
  });

  it('tells an answering lab host from a dead one and from one that restarted', async () => {
    const bootId = 'b7c1a0de-0000-4000-8000-000000000001';
    const answering = (id: string) =>
      ({ exec: async (argv: string[]): Promise<ExecResult> => ({ exitCode: 0, stdout: argv.join(' ') === 'cat /proc/sys/kernel/random/boot_id' ? `${id}\n` : '', stderr: '', durationMs: 1 }) }) as unknown as Transport;
    const dead = {
      exec: async (): Promise<ExecResult> => {
        throw new Error('ssh root@10.0.0.9:22: cannot connect with key k: connect EHOSTUNREACH 10.0.0.9:22\nmore');
      },
    } as unknown as Transport;
    expect(await labHostGone(answering(bootId), { bootId })).to.equal(undefined);
    expect(await labHostGone(answering(bootId))).to.equal(undefined);
    expect(await labHostGone(dead, { bootId })).to.deep.equal({ why: 'ssh root@10.0.0.9:22: cannot connect with key k: connect EHOSTUNREACH 10.0.0.9:22', restarted: false });
    const back = await labHostGone(answering('0a0b0c0d-0000-4000-8000-000000000002'), { bootId });
    expect(back?.restarted).to.equal(true);
    expect(back?.why).to.equal('the lab host restarted (boot id b7c1a0de is now 0a0b0c0d): it crashed and came back with nothing running');
  });
});
