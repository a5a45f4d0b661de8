import { guestExec, type GuestExecResult } from './guest-exec.js';
import { shellQuote, execOk, VIRSH_URI as URI, type Transport } from '../transport/transport.js';
import type { ExtraDisk } from './domain-xml.js';


/**
 * One test guest inside the lab host. Talks to the guest through its agent
 * (`virsh qemu-agent-command`), so every write is a real write inside the guest.
 */
export class TestVM {
  constructor(
    readonly t: Transport,
    readonly name: string,
    readonly disk: string,
    readonly serialLog: string,
    /** Disks besides vda (vdb...), removed with the guest. */
    readonly extraDisks: readonly ExtraDisk[] = [],
  ) {}

  async virsh(args: string[], timeout = 120_000) {
    return execOk(this.t, ['virsh', ...URI, ...args], { timeout });
  }

  /** Set by the first VMManager.startVM: a guest's first boot is the only one started again after a panic. */
  startedOnce = false;

  async state(): Promise<string> {
    const r = await this.t.exec(['virsh', ...URI, 'domstate', this.name]);
    return r.exitCode === 0 ? r.stdout.trim() : 'undefined';
  }

  /** One agent command; rejects with the agent's error text. */
  async agent<T>(execute: string, args?: object, timeoutS = 30): Promise<T> {
    const json = JSON.stringify(args ? { execute, arguments: args } : { execute });
    const r = await this.virsh(['qemu-agent-command', this.name, json, '--timeout', String(timeoutS)], (timeoutS + 30) * 1000);
    return (JSON.parse(r.stdout) as { return: T }).return;
  }

  /** Runs a program in the guest and waits for it. */
  exec(path: string, args: string[], timeoutMs = 120_000): Promise<GuestExecResult> {
    return guestExec((execute, a) => this.agent(execute, a), path, args, { timeoutMs, pollMs: 300, label: this.name });
  }

  /** A shell script in the guest that must succeed; returns its stdout. */
  async sh(script: string, timeoutMs?: number): Promise<string> {
    const r = await this.exec('/bin/sh', ['-c', script], timeoutMs);
    if (r.exitCode !== 0) throw new Error(`${this.name}: guest script failed (exit ${r.exitCode}): ${script}\n${r.stderr}`);
    return r.stdout;
  }

  /**
   * Writes `sizeKiB` KiB of random data to `path` inside the guest, syncs it to
   * vda, and returns its sha256 as the guest computes it.
   */
  async writeData(path: string, sizeKiB: number): Promise<string> {
    const q = shellQuote([path]);
    const out = await this.sh(`dd if=/dev/urandom of=${q} bs=1024 count=${sizeKiB} 2>/dev/null && sync && sha256sum ${q}`);
    return out.trim().split(/\s+/)[0] as string;
  }

  /**
   * Writes `MiB` MiB of random data straight onto block device `dev` (vdb...) at
   * `offsetMiB` MiB, flushed to the disk, and returns its sha256 as the guest reads it back.
   */
  async writeBlocks(dev: string, offsetMiB: number, MiB: number): Promise<string> {
    const d = shellQuote([`/dev/${dev}`]);
    const out = await this.sh(`dd if=/dev/urandom of=${d} bs=1M seek=${offsetMiB} count=${MiB} conv=fsync 2>/dev/null && sync && dd if=${d} bs=1M skip=${offsetMiB} count=${MiB} 2>/dev/null | sha256sum`);
    return out.trim().split(/\s+/)[0] as string;
  }
}
