import pLimit from 'p-limit';
import pRetry from 'p-retry';
import type { CleanupRegistry } from '../cleanup/cleanup-registry.js';
import { INNER_ROOT } from '../lab/lab-paths.js';
import type { LabState } from '../lab/lab-state.js';
import { log, say } from '../log.js';
import { done, notYet, pollUntil } from '../poll.js';
import { execOk, VIRSH_URI as URI, type Transport } from '../transport/transport.js';
import { virshDefine } from '../lab/outer-libvirt.js';
import { getCheckpoints } from '../vmsnap/assertions.js';
import { domainXml } from './domain-xml.js';
import { TestVM } from './test-vm.js';


/** What a guest kernel prints when it panics (its console is the serial log). */
const PANIC_LINE = 'Kernel panic - not syncing';

/** A test guest's kernel panicked while the harness waited for its agent. */
export class GuestPanicError extends Error {
  constructor(
    readonly vm: string,
    readonly panicLine: string,
    serialTail: string,
  ) {
    super(`test guest ${vm}: its kernel panicked before its agent answered: ${panicLine}\nserial:\n${serialTail}`);
    this.name = 'GuestPanicError';
  }
}

export interface CreateOptions {
  memoryMiB?: number;
  /** Sizes (MiB) of extra empty qcow2 disks: vdb, vdc... (a domain with several disks). */
  qcow2DisksMiB?: number[];
  /** Sizes (MiB) of extra raw disks, after the qcow2 ones: for VMSnap's --raw. */
  rawDisksMiB?: number[];
}

/**
 * Creates, starts and destroys test guests inside the lab host. Every guest is
 * a qcow2 overlay on the cached image (creating one costs milliseconds), named
 * `<prefix>-<run>-<name>`, and registered for cleanup the moment it exists.
 */
export class VMManager {
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(
    readonly t: Transport,
    readonly state: LabState,
    readonly cleanup: CleanupRegistry,
    readonly runId: string,
    parallel = 3,
  ) {
    this.limit = pLimit(parallel);
  }

  /** The unique libvirt name of a test guest of this run. */
  vmName(base: string): string {
    return `${this.state.prefix}-${this.runId}-${base}`;
  }

  async createTestVM(base: string, options: CreateOptions = {}): Promise<TestVM> {
    return this.limit(async () => {
      const name = this.vmName(base);
      const img = this.state.guestImage;
      const disk = `${INNER_ROOT}/guests/${name}.qcow2`;
      const serialLog = `${INNER_ROOT}/guests/${name}.serial.log`;
      const sizes = [...(options.qcow2DisksMiB ?? []).map((MiB) => ({ MiB, format: 'qcow2' as const })), ...(options.rawDisksMiB ?? []).map((MiB) => ({ MiB, format: 'raw' as const }))];
      const extraDisks = sizes.map(({ format }, i) => {
        const target = `vd${String.fromCharCode(98 + i)}`;
        return { target, format, path: `${INNER_ROOT}/guests/${name}.${target}.${format}` };
      });
      const vm = new TestVM(this.t, name, disk, serialLog, extraDisks);
      this.cleanup.register(`test guest ${name}`, () => this.destroyVM(vm), { timeoutMs: 120_000 });
      await execOk(this.t, ['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', `${img.dir}/disk.qcow2`, disk]);
      for (const [i, x] of extraDisks.entries()) await execOk(this.t, ['qemu-img', 'create', '-q', '-f', x.format, x.path, `${sizes[i]?.MiB}M`]);
      const xml = domainXml({
        extraDisks,
        name,
        disk,
        serialLog,
        accel: this.state.innerAccel.accel,
        memoryMiB: options.memoryMiB ?? 192,
        kernel: img.boot === 'kernel' ? { kernel: `${img.dir}/vmlinuz`, initrd: `${img.dir}/initrd.img`, cmdline: 'console=ttyS0 quiet' } : undefined,
      });
      await virshDefine(this.t, 'define', xml);
      log.lab(`defined ${name}`);
      return vm;
    });
  }

  /**
   * Starts the guest and waits until its agent answers (the guest is usable).
   * A guest whose kernel panics during its first boot, before any backup gave
   * it a checkpoint, is started once more: nothing of the test has touched it
   * yet, so that panic is the nested layer's (seen in CI: a fresh guest on a new
   * lab host dead at 4.5 s, `RIP: 0010:0x0`), and it is said aloud. A second
   * panic, or one of a guest VMSnap has worked on, fails the caller.
   */
  async startVM(vm: TestVM, deadlineMs = 300_000): Promise<void> {
    const firstBoot = !vm.startedOnce;
    vm.startedOnce = true;
    for (let attempt = 1; ; attempt++) {
      // Domain start is an infrastructure step known to fail transiently under load: retried, bounded, logged.
      await pRetry(() => vm.virsh(['start', vm.name]), {
        retries: 2,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => say(`lab: start ${vm.name} attempt ${attemptNumber} failed (${error.message.split('\n')[0]}); ${retriesLeft} left`),
      });
      try {
        await this.waitForAgent(vm, deadlineMs);
        return;
      } catch (e) {
        if (!(e instanceof GuestPanicError) || !firstBoot || attempt > 1 || (await getCheckpoints(vm)).length > 0) throw e;
        const kept = `${vm.serialLog}.first-boot-panic`;
        say(`lab: INFRASTRUCTURE: test guest ${vm.name} panicked during its first boot (${e.panicLine}); its console is kept in ${kept}; starting it once more`);
        await this.t.exec(['virsh', ...URI, 'destroy', vm.name]);
        await execOk(this.t, ['mv', '-f', vm.serialLog, kept]);
      }
    }
  }

  /**
   * Waits for the guest's agent to answer guest-ping. Every few looks it also
   * reads the guest's console: a guest whose kernel panicked never answers, and
   * waiting the whole deadline for it would only hide what happened.
   */
  async waitForAgent(vm: TestVM, deadlineMs = 300_000): Promise<void> {
    let looks = 0;
    await pollUntil(
      `guest agent of ${vm.name} answering guest-ping`,
      async () => {
        const r = await this.t.exec(['virsh', ...URI, 'qemu-agent-command', vm.name, '{"execute":"guest-ping"}', '--timeout', '5'], { timeout: 30_000 });
        if (r.exitCode === 0) return done(undefined);
        if (++looks % 5 === 0) {
          const panic = (await this.t.exec(['grep', '-a', '-m1', PANIC_LINE, vm.serialLog])).stdout.trim();
          if (panic) throw new GuestPanicError(vm.name, panic, (await this.t.exec(['tail', '-c', '1500', vm.serialLog])).stdout);
        }
        return notYet(r.stderr.trim());
      },
      { timeoutMs: deadlineMs, intervalMs: 1_000, evidence: async () => `serial:\n${(await this.t.exec(['tail', '-c', '1500', vm.serialLog])).stdout}` },
    );
  }

  /** Shuts the guest down cleanly (its agent's guest-shutdown: the guest syncs its disks) and waits until it is shut off. */
  async shutdownVM(vm: TestVM, deadlineMs = 120_000): Promise<void> {
    // guest-shutdown has no reply; the domain stops by itself.
    await this.t.exec(['virsh', ...URI, 'qemu-agent-command', vm.name, '{"execute":"guest-shutdown"}', '--timeout', '5'], { timeout: 30_000 });
    await pollUntil(
      `${vm.name} shut off after guest-shutdown`,
      async () => {
        const state = await vm.state();
        return state === 'shut off' ? done(undefined) : notYet(state);
      },
      { timeoutMs: deadlineMs, intervalMs: 1_000 },
    );
  }

  /** Stops and removes the guest, its checkpoint metadata, disk and logs. Idempotent. */
  async destroyVM(vm: TestVM): Promise<void> {
    if ((await vm.state()) !== 'undefined') {
      await this.t.exec(['virsh', ...URI, 'destroy', vm.name]);
      // Checkpoint metadata (from backups) must go with the domain, or undefine refuses.
      await execOk(this.t, ['virsh', ...URI, 'undefine', vm.name, '--checkpoints-metadata', '--snapshots-metadata']);
    }
    await execOk(this.t, ['rm', '-f', vm.disk, vm.serialLog, `${vm.serialLog}.first-boot-panic`, ...vm.extraDisks.map((x) => x.path)]);
  }
}
