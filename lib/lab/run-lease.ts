import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { execOk, shellQuote, VIRSH_URI, type Transport } from '../transport/transport.js';
import { INNER_ROOT } from './lab-paths.js';
import { nothingLeft, stopRunProcesses, sweepRun, type RunLeftovers } from './run-reaper.js';

// A run (a suite process, bench, churn) that is killed with SIGKILL runs no
// handler: its guests, folders and processes stay in the lab host. So each run
// holds a lease there from its first step, naming the process that owns it the
// way testcontainers' reaper knows its session: pid, that process's start time
// (a pid is reused) and this machine's boot id (a reboot ends every run). The
// next run, or `make sweep`, removes every run whose owner is gone.

/** Where the leases live in the lab host: `<run id>.lease`, which no run's own sweep pattern (`<id>-*`) matches. */
export const LEASES_DIR = `${INNER_ROOT}/runs`;

export interface Lease {
  runId: string;
  /** What the run is: `suite lab`, `bench`, `churn`. */
  what: string;
  pid: number;
  /** The owner's start time in clock ticks since boot (/proc/<pid>/stat, field 22). */
  pidStart: string;
  /** /proc/sys/kernel/random/boot_id of the machine the owner runs on. */
  bootId: string;
  host: string;
  startedAt: string;
}

/** Who this process is, as a lease records it. */
export function selfIdentity(): Pick<Lease, 'pid' | 'pidStart' | 'bootId' | 'host'> {
  return { pid: process.pid, pidStart: processStart(process.pid) ?? '', bootId: machineBootId(), host: hostname() };
}

function machineBootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** A process's start time (field 22 of /proc/<pid>/stat), or undefined when no such process runs. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Why the lease's owner is gone, or undefined when it still runs (or runs on
 * another machine, which this one cannot tell about: such a lease is left alone).
 */
export function ownerGone(lease: Lease, self = selfIdentity(), startOf: (pid: number) => string | undefined = processStart): string | undefined {
  if (lease.host !== self.host) return undefined;
  if (lease.bootId !== self.bootId) return `its owner (pid ${lease.pid}) ran before this machine rebooted`;
  const start = startOf(lease.pid);
  if (start === undefined) return `its owner (pid ${lease.pid}) is gone`;
  if (start !== lease.pidStart) return `its owner's pid ${lease.pid} now belongs to another process`;
  return undefined;
}

/** Takes the lease of run `runId` in the lab host; returns how to give it back (at the run's end). */
export async function takeLease(t: Transport, runId: string, what: string): Promise<() => Promise<void>> {
  const lease: Lease = { runId, what, ...selfIdentity(), startedAt: new Date().toISOString() };
  const file = `${LEASES_DIR}/${runId}.lease`;
  await execOk(t, `mkdir -p ${LEASES_DIR} && cat > ${shellQuote([file])}`, { stdin: JSON.stringify(lease) });
  return async () => {
    await t.exec(['rm', '-f', file]);
  };
}

export async function readLeases(t: Transport): Promise<Lease[]> {
  const r = await execOk(t, `for f in ${LEASES_DIR}/*.lease; do [ -f "$f" ] && { cat "$f"; echo; }; done; true`);
  const leases: Lease[] = [];
  for (const line of r.stdout.split('\n').filter((l) => l.trim())) {
    try {
      leases.push(JSON.parse(line) as Lease);
    } catch {
      // A torn lease (its owner died while writing it) names no run: nothing to sweep by.
    }
  }
  return leases;
}

/**
 * Run ids that have something in the lab host: guests `<prefix>-<id>-x` (domains
 * and their files) and folders `<id>-x` or `<prefix>-<id>-x` under backups/ and tmp/. A run holds a
 * lease before it makes any of these, so an id without a lease is a dead run's
 * (or one from before leases).
 */
export async function runIdsPresent(t: Transport, prefix: string): Promise<string[]> {
  const guest = new RegExp(`^${prefix.replace(/[-]/g, '\\-')}-([0-9a-f]{6})-`);
  const folder = /^([0-9a-f]{6})-/;
  const domains = (await execOk(t, ['virsh', ...VIRSH_URI, 'list', '--all', '--name'])).stdout.split('\n');
  const guests = (await execOk(t, `ls ${INNER_ROOT}/guests 2>/dev/null; true`)).stdout.split('\n');
  const folders = (await execOk(t, `ls ${INNER_ROOT}/backups ${INNER_ROOT}/tmp 2>/dev/null; true`)).stdout.split('\n');
  const ids = new Set<string>();
  for (const n of [...domains, ...guests, ...folders]) {
    const m = guest.exec(n.trim()) ?? folder.exec(n.trim());
    if (m) ids.add(m[1] as string);
  }
  return [...ids].sort();
}

export interface SweptRun {
  runId: string;
  why: string;
  left: RunLeftovers;
}

/**
 * Sweeps every run in the lab host whose owner is gone (see ownerGone), and
 * every run that left something but holds no lease: stops its processes,
 * removes its guests, checkpoint metadata and folders (sweepRun), and its
 * lease. Runs that are alive, and `keep` (the caller's own), are left alone.
 */
export async function sweepDeadRuns(t: Transport, prefix: string, options: { keep?: string } = {}): Promise<{ swept: SweptRun[]; alive: Lease[] }> {
  const leases = await readLeases(t);
  const alive: Lease[] = [];
  const dead = new Map<string, string>();
  for (const l of leases) {
    if (l.runId === options.keep) continue;
    const why = ownerGone(l);
    if (why) dead.set(l.runId, `${l.what}: ${why}`);
    else alive.push(l);
  }
  const leased = new Set(leases.map((l) => l.runId));
  for (const id of await runIdsPresent(t, prefix)) {
    if (!leased.has(id) && id !== options.keep) dead.set(id, 'no lease (killed before it took one, or from before leases)');
  }
  const swept: SweptRun[] = [];
  for (const [runId, why] of dead) {
    await stopRunProcesses(t, runId);
    const left = await sweepRun(t, runId);
    await t.exec(['rm', '-f', `${LEASES_DIR}/${runId}.lease`]);
    swept.push({ runId, why, left });
  }
  return { swept, alive };
}

/** One line per swept run, for the terminal. */
export function sweptLines(swept: SweptRun[]): string[] {
  return swept.map((s) => {
    const what = Object.entries(s.left)
      .filter(([, v]) => v.length > 0)
      .map(([k, v]) => `${v.length} ${k}`)
      .join(', ');
    return `swept run ${s.runId} (${s.why}): ${nothingLeft(s.left) ? 'nothing of it was left' : what}`;
  });
}
