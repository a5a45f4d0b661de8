import { existsSync, readFileSync, renameSync } from 'node:fs';
import { withDeadline } from '../deadline.js';
import type { Transport } from '../transport/transport.js';

/**
 * The lab host's boot id: a new one after every boot, so a restart is told from
 * a lab host that stayed up. A lab host restored from a saved state has the boot
 * id it was saved with, so its restore id (lib/lab/saved-host.ts, in /run: gone
 * at the next boot) is added: each restore is another lab host.
 */
export async function labHostBootId(t: Transport, timeoutMs = 30_000): Promise<string> {
  const r = await t.exec(['cat', '/proc/sys/kernel/random/boot_id'], { timeout: timeoutMs });
  if (r.exitCode !== 0) throw new Error(`cannot read the lab host's boot id: ${r.stderr.trim()}`);
  const restore = await t.exec(['cat', RESTORE_ID_FILE], { timeout: timeoutMs });
  return restore.exitCode === 0 && restore.stdout.trim() ? `${r.stdout.trim()}+${restore.stdout.trim()}` : r.stdout.trim();
}

/** Written by a restore of a saved lab-host state (see labHostBootId). */
export const RESTORE_ID_FILE = '/run/vmsnap-lab/restore-id';

/**
 * Whether the lab host is gone: it does not answer one trivial command within
 * the deadline, or it answers with another boot id than `bootId` (it reset and
 * came back with nothing running: seen here under TCG, a silent reset with
 * nothing on its console). Returns why, or undefined when it is the same lab
 * host, still up. A lab host that died makes every later command wait for its
 * own timeout, so the suites ask this once after a failure and stop early.
 */
export async function labHostGone(t: Transport, options: { bootId?: string; timeoutMs?: number } = {}): Promise<LabHostGone | undefined> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  // Bounded as a whole: reconnecting to a dead host retries for longer than the command's own deadline.
  const noAnswer = () => new Error(`${t.name}: no answer within ${Math.round(timeoutMs / 1000)} s`);
  let now: string;
  try {
    now = await withDeadline(labHostBootId(t, timeoutMs), timeoutMs, noAnswer);
  } catch (error) {
    return { why: (error as Error).message.split('\n')[0] as string, restarted: false };
  }
  if (options.bootId && now !== options.bootId) {
    return { why: `the lab host restarted (boot id ${options.bootId.slice(0, 8)} is now ${now.slice(0, 8)}): it crashed and came back with nothing running`, restarted: true };
  }
  return undefined;
}

export interface LabHostGone {
  why: string;
  /** It answers again after a reset: its complaints are in the console's previous boot. */
  restarted: boolean;
}

// What a kernel says when it is in trouble; the lines worth a human's first look.
// Stalls count: a lab host vCPU that stops taking interrupts leaves the kernel
// up but useless, and says so only as RCU stalls and blocked tasks (seen here:
// "rcu_preempt detected stalls", "Possible timer handling issue on cpu=0").
const TROUBLE =
  /Oops|Kernel panic|BUG:|soft lockup|blocked for more than \d+ seconds|detected stalls|Possible timer handling issue|Out of memory|invalid opcode|general protection|RIP: 0010|Call Trace/;
// A stalled kernel repeats its complaints every minute or two, with new timestamps,
// jiffies and seconds: one line of each kind is enough, so numbers do not count.
const kindOf = (l: string) => l.replace(/\d+/g, '#');

/**
 * The lab host kernel's complaints in one boot (the last, or the one before it
 * when the lab host restarted), from its serial console log on this machine
 * (the file survives the lab host). A lab host's boots append to it (a new lab
 * host starts a new file: setConsoleAside); a boot
 * starts at a "Linux version" banner or where the kernel's clock goes back
 * (a quiet kernel prints no banner). Each complaint once, in order.
 */
export function serialConsoleTrouble(serialLog: string, maxLines = 20, boot: 'last' | 'previous' = 'last'): string[] {
  if (!existsSync(serialLog)) return [];
  const lines = readFileSync(serialLog, 'latin1').split('\n');
  const starts = [0];
  let last = -1;
  // A banner and the clock's reset mark the same boot when nothing later than 0 s came between them.
  let ranSinceStart = false;
  lines.forEach((l, i) => {
    const m = /^\S*\[\s*(\d+\.\d+)\]/.exec(l);
    const t = m ? Number(m[1]) : undefined;
    if ((/Linux version /.test(l) || (t !== undefined && t < last)) && ranSinceStart) {
      starts.push(i);
      ranSinceStart = false;
    }
    if (t !== undefined) {
      if (t > 0) ranSinceStart = true;
      last = t;
    }
  });
  const k = boot === 'last' ? starts.length - 1 : starts.length - 2;
  if (k < 0) return [];
  return complaints(lines.slice(starts[k], starts[k + 1]), maxLines);
}

/** The kernel's complaints among `lines`, cleaned of terminal escapes, each kind once, in order, at most `maxLines`. */
function complaints(lines: string[], maxLines: number): string[] {
  const seen = new Set<string>();
  const trouble: string[] = [];
  for (const l of lines.filter((x) => TROUBLE.test(x)).map(cleanLine)) {
    if (seen.has(kindOf(l))) continue;
    seen.add(kindOf(l));
    trouble.push(l);
  }
  return trouble.slice(0, maxLines);
}

/**
 * Sets the lab host's console log aside (as `<log>.previous`) before a lab-up
 * attempt starts a new lab host. A new QEMU truncates a file console (libvirt's
 * default), so an offset into the old file says nothing about the new one: found
 * when a lab host panicked during lab-up after a longer console of an earlier lab,
 * and lab-up read past the new file's end and did not see it die.
 */
export function setConsoleAside(serialLog: string): void {
  if (existsSync(serialLog)) renameSync(serialLog, `${serialLog}.previous`);
}

/**
 * What the lab host's console says since setConsoleAside: its kernel's
 * complaints (each kind once, at most `maxLines`) and how many times a kernel
 * started (a "Linux version" banner: more than one is a reset).
 */
export function consoleSince(serialLog: string, maxLines = 20): { trouble: string[]; boots: number } {
  if (!existsSync(serialLog)) return { trouble: [], boots: 0 };
  const lines = readFileSync(serialLog, 'latin1').split('\n');
  return { trouble: complaints(lines, maxLines), boots: lines.filter((l) => /Linux version /.test(l)).length };
}

// eslint-disable-next-line no-control-regex
const cleanLine = (l: string) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]|\[!p\]|\x1b/g, '').trim();
