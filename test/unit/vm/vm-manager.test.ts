import { expect } from 'chai';
import { CleanupRegistry } from '../../../lib/cleanup/cleanup-registry.js';
import type { LabState } from '../../../lib/lab/lab-state.js';
import { describeCommand, type Command, type ExecResult, type Transport } from '../../../lib/transport/transport.js';
import { GuestPanicError, VMManager } from '../../../lib/vm/vm-manager.js';
import { TestVM } from '../../../lib/vm/test-vm.js';

const PANIC = '[    4.469712] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009';

/**
 * A stand-in for the lab host's shell: a guest whose console and agent behave as
 * each boot in `boots` says ('panic' or 'ok'), with `checkpoints` in libvirt.
 * It records every command, so the tests see what VMManager really asked for.
 */
class GuestHost implements Transport {
  readonly name = 'stand-in lab host';
  readonly commands: string[] = [];
  private boot = -1;
  constructor(
    private readonly boots: ('panic' | 'ok')[],
    private readonly checkpoints: string[] = [],
  ) {}
  async exec(command: Command): Promise<ExecResult> {
    const c = describeCommand(command);
    this.commands.push(c);
    const r = (exitCode: number, stdout = '', stderr = ''): ExecResult => ({ exitCode, stdout, stderr, durationMs: 1 });
    const now = this.boots[this.boot];
    if (/ start g$/.test(c)) return (this.boot++, r(0, 'Domain started'));
    if (c.includes('guest-ping')) return now === 'ok' ? r(0, '{"return":{}}') : r(1, '', 'error: Guest agent is not responding: QEMU guest agent is not connected');
    if (c.startsWith('grep')) return now === 'panic' ? r(0, PANIC) : r(1);
    if (c.startsWith('tail')) return r(0, now === 'panic' ? `...\n${PANIC}\n` : '');
    if (c.includes('checkpoint-list')) return r(0, this.checkpoints.join('\n'));
    return r(0);
  }
  async close(): Promise<void> {}
}

const manager = (t: Transport) => new VMManager(t, {} as LabState, new CleanupRegistry(), 'run1');
const vmOn = (t: Transport) => new TestVM(t, 'g', '/g.qcow2', '/g.serial.log');
const count = (t: GuestHost, re: RegExp) => t.commands.filter((c) => re.test(c)).length;

describe('VMManager.startVM: a guest kernel that panics while booting', function () {
  this.timeout(60_000);

  it('starts a fresh guest once more when its first boot panics, keeping the panicked console, and says so', async () => {
    const t = new GuestHost(['panic', 'ok']);
    await manager(t).startVM(vmOn(t), 30_000);
    expect(count(t, / start g$/)).to.equal(2);
    expect(count(t, / destroy g$/)).to.equal(1);
    expect(t.commands).to.include("mv -f /g.serial.log /g.serial.log.first-boot-panic");
  });

  it('fails on a second panic, with the panic line, without waiting out the deadline', async () => {
    const t = new GuestHost(['panic', 'panic', 'ok']);
    const started = Date.now();
    const e = await manager(t).startVM(vmOn(t), 120_000).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(GuestPanicError);
    expect((e as Error).message).to.include('Attempted to kill init');
    expect(count(t, / start g$/)).to.equal(2);
    expect(Date.now() - started, 'found on the console, not by the deadline').to.be.below(30_000);
  });

  it('does not start again a guest a backup has worked on (it has a checkpoint), nor a guest booted before', async () => {
    const withCheckpoint = new GuestHost(['panic', 'ok'], ['virtnbdbackup.0']);
    expect(await manager(withCheckpoint).startVM(vmOn(withCheckpoint), 30_000).catch((x: unknown) => x)).to.be.instanceOf(GuestPanicError);
    expect(count(withCheckpoint, / start g$/)).to.equal(1);

    const t = new GuestHost(['ok', 'panic', 'ok']);
    const vm = vmOn(t);
    const m = manager(t);
    await m.startVM(vm, 30_000);
    expect(await m.startVM(vm, 30_000).catch((x: unknown) => x)).to.be.instanceOf(GuestPanicError);
    expect(count(t, / start g$/)).to.equal(2);
  });
});
