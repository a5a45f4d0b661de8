import { execOk, shellQuote, VIRSH_URI, type Transport } from '../transport/transport.js';
import { INNER_ROOT } from './lab-paths.js';

// What an interrupted test run leaves in the lab host, found by its run id the
// way testcontainers' reaper finds containers by label: every name a run creates
// (guests `<prefix>-<run>-x`, folders `<root>/*/<run>-x`) holds `-<run>-` or `/<run>-`.

/**
 * A pgrep/pkill pattern for a run's processes that never matches the shell
 * that runs it: `[-/]a1b2c3-` matches "-a1b2c3-" but not its own text "[-/]a1b2c3-".
 */
export function runPattern(runId: string): string {
  if (!/^[0-9a-f]{4,}$/.test(runId)) throw new Error(`not a run id: ${runId}`);
  return `[-/]${runId}-`;
}

/**
 * The processes of one run, except its guests' QEMU (libvirt owns those, and
 * stops them with the domain): VMSnap, virtnbdbackup, virsh, qemu-img, and the
 * `timeout` wrapper every remote command runs under.
 */
function listScript(runId: string): string {
  const pat = shellQuote([runPattern(runId)]);
  return `for p in $(pgrep -f ${pat}); do case "$(cat /proc/$p/comm 2>/dev/null)" in qemu-system*|'') ;; *) echo "$p";; esac; done`;
}

/**
 * Stops every process of the run, before anything is cleaned up: a VMSnap or
 * virtnbdbackup still writing would otherwise recreate a folder just removed,
 * or hold a job on a guest being destroyed. SIGTERM first (the `timeout`
 * wrappers pass it to their whole process group), SIGKILL what is left after 10 s.
 * Then removes the NBD sockets of the stopped virtnbdbackup processes, named
 * after their pid. Returns the command lines it stopped.
 */
export async function stopRunProcesses(t: Transport, runId: string): Promise<string[]> {
  const list = listScript(runId);
  const script = [
    `pids=$(${list})`,
    '[ -n "$pids" ] || exit 0',
    'for p in $pids; do printf "%s %s\\n" "$p" "$(tr "\\0" " " < /proc/$p/cmdline 2>/dev/null)"; done',
    'kill -TERM $pids 2>/dev/null',
    `for i in $(seq 20); do [ -z "$(${list})" ] && break; sleep 0.5; done`,
    `left=$(${list}); [ -z "$left" ] || kill -KILL $left 2>/dev/null`,
    'for p in $pids; do rm -f /var/tmp/virtnbdbackup.$p /var/lib/libvirt/qemu/virtnbdbackup.$p; done',
    'true',
  ].join('\n');
  const r = await execOk(t, script, { timeout: 60_000 });
  return r.stdout.split('\n').filter(Boolean);
}

export interface RunLeftovers {
  processes: string[];
  domains: string[];
  checkpointMetadata: string[];
  files: string[];
  nbdSockets: string[];
}

/**
 * What is left of a run in the lab host: its processes, domains, libvirt
 * checkpoint metadata, files and folders under the lab root, and NBD sockets of
 * virtnbdbackup processes that no longer exist. All empty = nothing left.
 */
export async function runLeftovers(t: Transport, runId: string): Promise<RunLeftovers> {
  const virsh = `virsh ${VIRSH_URI.join(' ')}`;
  const id = shellQuote([runId]);
  const lines = async (script: string) => (await execOk(t, script, { timeout: 60_000 })).stdout.split('\n').filter(Boolean);
  return {
    processes: await lines(`for p in $(${listScript(runId)}); do tr "\\0" " " < /proc/$p/cmdline; echo; done`),
    domains: await lines(`${virsh} list --all --name | grep -F -- -${id}- || true`),
    checkpointMetadata: await lines(`ls /var/lib/libvirt/qemu/checkpoint/ 2>/dev/null | grep -F -- -${id}- || true`),
    files: await lines(`find ${INNER_ROOT} -mindepth 2 -maxdepth 2 -name '*${runId}-*' 2>/dev/null || true`),
    // A socket named after a pid that no longer runs was left by a killed virtnbdbackup.
    nbdSockets: await lines(
      'for s in /var/tmp/virtnbdbackup.* /var/lib/libvirt/qemu/virtnbdbackup.*; do [ -e "$s" ] || continue; kill -0 "${s##*.}" 2>/dev/null || echo "$s"; done',
    ),
  };
}

export function nothingLeft(l: RunLeftovers): boolean {
  return Object.values(l).every((v) => v.length === 0);
}

/**
 * Removes what the cleanup registry did not (a guest defined while the run was
 * being interrupted): the run's domains with their checkpoints and storage, and
 * its files under the lab root. Returns what it had to remove.
 */
export async function sweepRun(t: Transport, runId: string): Promise<RunLeftovers> {
  const left = await runLeftovers(t, runId);
  const virsh = ['virsh', ...VIRSH_URI];
  for (const d of left.domains) {
    await t.exec([...virsh, 'destroy', d], { timeout: 60_000 });
    await t.exec([...virsh, 'undefine', d, '--checkpoints-metadata', '--nvram'], { timeout: 60_000 });
  }
  if (left.files.length > 0) await t.exec(`chattr -R -i ${shellQuote(left.files)} 2>/dev/null; rm -rf ${shellQuote(left.files)}`, { timeout: 60_000 });
  if (left.nbdSockets.length > 0) await t.exec(['rm', '-f', ...left.nbdSockets]);
  return left;
}
