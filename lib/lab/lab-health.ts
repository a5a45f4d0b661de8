import { existsSync, readFileSync } from 'node:fs';
import type { LabConfig } from '../config.js';
import { withDeadline } from '../deadline.js';
import { labPaths } from './lab-paths.js';
import type { Transport } from '../transport/transport.js';

/**
 * Whether the lab host still answers: one trivial command, bounded. Returns
 * why it does not, or undefined when it does. A lab host that died (kernel
 * panic, QEMU gone) makes every later command wait for its own timeout, so the
 * suites ask this once after a failure and stop early instead.
 */
export async function labHostUnreachable(t: Transport, timeoutMs = 30_000): Promise<string | undefined> {
  // Bounded as a whole: reconnecting to a dead host retries for longer than the command's own deadline.
  const noAnswer = () => new Error(`${t.name}: no answer within ${Math.round(timeoutMs / 1000)} s`);
  try {
    const r = await withDeadline(t.exec(['true'], { timeout: timeoutMs }), timeoutMs, noAnswer);
    return r.exitCode === 0 ? undefined : `\`true\` exited ${r.exitCode}`;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
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
 * The lab host kernel's complaints since its last boot, from its serial console
 * log on this machine (the file survives the lab host). The log is appended to
 * across boots; the last boot starts at the last "Linux version" banner, or at
 * a restart of the kernel's clock ("[    0.000000]"). Each complaint once, in order.
 */
export function serialConsoleTrouble(serialLog: string, maxLines = 20): string[] {
  if (!existsSync(serialLog)) return [];
  const lines = readFileSync(serialLog, 'latin1').split('\n');
  let start = 0;
  lines.forEach((l, i) => {
    if (/Linux version |\[\s+0\.000000\]/.test(l)) start = i;
  });
  // Without a boot banner (quiet kernel), a clock that goes backwards marks a new boot.
  let last = -1;
  lines.forEach((l, i) => {
    const m = /^\S*\[\s*(\d+\.\d+)\]/.exec(l);
    if (!m) return;
    const t = Number(m[1]);
    if (t < last && i > start) start = i;
    last = t;
  });
  // eslint-disable-next-line no-control-regex
  const clean = (l: string) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]|\[!p\]|\x1b/g, '').trim();
  const seen = new Set<string>();
  const trouble: string[] = [];
  for (const l of lines.slice(start).filter((x) => TROUBLE.test(x)).map(clean)) {
    const text = kindOf(l);
    if (seen.has(text)) continue;
    seen.add(text);
    trouble.push(l);
  }
  return trouble.slice(0, maxLines);
}

/**
 * The lab host's kernel complaints for a lab of this provider: only a vagrant
 * lab host has a serial console log on this machine (the local provider has none).
 */
export function labHostComplaints(config: LabConfig, provider: LabConfig['provider'] = config.provider): string[] {
  return provider === 'vagrant' ? serialConsoleTrouble(labPaths(config).serialLog) : [];
}
