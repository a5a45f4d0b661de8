import { cpus, release, totalmem } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import dayjs from 'dayjs';
import { medianRatio, stats, statsTable, type Stats } from '../bench/stats.js';
import { CleanupRegistry } from '../cleanup/cleanup-registry.js';
import { getLabConfig, PROJECT_ROOT, type LabConfig } from '../config.js';
import { buildImages, readManifest } from '../images/images.js';
import { connectLab, type Lab } from '../lab/lab.js';
import { removeBoxCache } from '../lab/box-cache.js';
import { removeSavedHost } from '../lab/saved-host.js';
import { boxName, INNER_ROOT, outerNames } from '../lab/lab-paths.js';
import { driverFor } from '../lab/drivers/index.js';
import { readState, type LabState } from '../lab/lab-state.js';
import { labAnswers, labDown, labUp } from '../lab/lab-up.js';
import { vagrant } from '../lab/vagrant.js';
import { say } from '../log.js';
import { positiveInt, runCli, stopAfterCurrent } from './cli-kit.js';
import { secondsSince } from '../progress.js';
import { runSuite, suitesToRun } from '../suites.js';
import { LocalTransport } from '../transport/local-transport.js';
import { execOk, type Transport } from '../transport/transport.js';
import { restoreBackup } from '../vm/restore.js';
import { VMManager } from '../vm/vm-manager.js';
import { VMSNAP_SCRIPT, VMSnapRunner } from '../vmsnap/vmsnap-runner.js';
import { takeLease } from '../lab/run-lease.js';
import { installCopy, withSutSource } from '../lab/sut-sync.js';
import { runUpstream, upstreamScript, type UpstreamRun } from '../vmsnap/upstream-suite.js';

// `make bench`: each phase N times (default 3), min/median/max to
// artifacts/bench/<date>.json and a table. Times are measured, never asserted.

const PHASES = ['images', 'lab-up', 'guest', 'suite', 'upstream'] as const;
type PhaseGroup = (typeof PHASES)[number];

const program = new Command('bench')
  .description("benchmark the lab phases N times: images, lab-up, guest operations, the suites, VMSnap's own integration suite")
  .option('-n, --runs <n>', 'samples per phase', positiveInt, Number(process.env.N ?? 3))
  .option('--phases <list>', `which groups (${PHASES.join(',')})`, process.env.BENCH_PHASES ?? PHASES.join(','))
  .option('--suites <list>', 'the suites of the "whole suite" phase (default: lab, and integration when VMSnap is installed)', process.env.BENCH_SUITES)
  .parse();
const opts = program.opts<{ runs: number; phases: string; suites?: string }>();
const groups = opts.phases.split(',').map((s) => s.trim()) as PhaseGroup[];
for (const g of groups) if (!PHASES.includes(g)) program.error(`bench: unknown phase group "${g}" (known: ${PHASES.join(', ')})`);

const interrupted = stopAfterCurrent('sample');

const samples = new Map<string, { unit: string; values: number[] }>();
function sample(name: string, value: number, unit = 's'): void {
  const entry = samples.get(name) ?? { unit, values: [] };
  entry.values.push(Math.round(value * 10) / 10);
  samples.set(name, entry);
  say(`bench: ${name}: ${entry.values.at(-1)} ${unit}`);
}
async function timeIt<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  sample(name, secondsSince(started));
  return result;
}
const times = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Phases that could not run here, with why: in the JSON and said, never a silent gap in the table. */
const notRun: { phase: string; reason: string }[] = [];
function cannotRun(phase: string, reason: string): void {
  notRun.push({ phase, reason });
  say(`bench: ${phase}: NOT RUN: ${reason}`);
}

async function benchImages(config: LabConfig): Promise<void> {
  const guestOnly = !driverFor(config.provider).hasLabHost;
  for (const i of times(opts.runs)) {
    if (interrupted()) return;
    say(`\n=== bench: make images, cold (${i}/${opts.runs})`);
    await timeIt('make images (cold: rebuilt)', () => buildImages(config, { force: true, guestOnly }));
  }
  for (const i of times(opts.runs)) {
    if (interrupted()) return;
    say(`\n=== bench: make images, cached (${i}/${opts.runs})`);
    await timeIt('make images (cached)', () => buildImages(config, { force: false, guestOnly }));
  }
}

async function benchLabUp(config: LabConfig): Promise<void> {
  const labHost = (await readManifest(config)).labHost;
  const box = labHost && boxName(labHost);
  for (const i of times(opts.runs)) {
    if (interrupted()) return;
    say(`\n=== bench: lab-up, cold: box not added, box cache empty (${i}/${opts.runs})`);
    await labDown(config);
    if (box && driverFor(config.provider).hasLabHost) {
      await vagrant(config, ['box', 'remove', '--force', box]);
      await removeSavedHost(config, 'bench: a cold lab-up starts from nothing');
      await removeBoxCache(new LocalTransport());
    }
    await timeIt('lab-up (cold: box added and uploaded first)', () => labUp(config));
  }
  for (const i of times(opts.runs)) {
    if (interrupted()) return;
    say(`\n=== bench: lab-up, warm: box added and in the box cache, no saved lab-host state (${i}/${opts.runs})`);
    await labDown(config);
    await removeSavedHost(config, 'bench: a warm lab-up boots the box');
    await timeIt('lab-up (warm: box in the cache pool)', () => labUp(config));
  }
  // The warm run above saved a lab-host state (unless LAB_HOST_STATE=0): each of these restores it.
  for (const i of times(opts.runs)) {
    if (interrupted()) return;
    say(`\n=== bench: lab-up, restored: from the saved lab-host state (${i}/${opts.runs})`);
    await labDown(config);
    await timeIt('lab-up (restored: saved lab-host state)', () => labUp(config));
  }
  for (const i of times(opts.runs)) {
    if (interrupted()) return;
    say(`\n=== bench: lab-up, reuse: lab already up (${i}/${opts.runs})`);
    await timeIt('lab-up (reuse: lab already up)', () => labUp(config));
  }
}

/** Resident memory of processes whose command line holds `needle`, in MiB (0 when none). */
async function rssMiB(t: Transport, needle: string): Promise<number> {
  const r = await t.exec(`ps -eo rss=,args= | grep -F -- ${JSON.stringify(needle)} | grep -v grep | awk '{s+=$1} END {print s+0}'`);
  return Number(r.stdout.trim()) / 1024;
}

async function benchGuest(config: LabConfig): Promise<void> {
  await labUp(config);
  const lab = await connectLab(config);
  const t = lab.transport;
  const cleanup = new CleanupRegistry();
  const runId = randomBytes(3).toString('hex');
  // Its guests and folders carry the run id: the lease keeps a suite's sweep off them.
  const releaseLease = await takeLease(t, runId, 'bench');
  const vms = new VMManager(t, lab.state, cleanup, runId, 1);
  const vmsnap = lab.state.sut.kind === 'installed' ? new VMSnapRunner(t, `${INNER_ROOT}/tmp/${runId}-bench`, (await execOk(t, 'command -v node')).stdout.trim(), VMSNAP_SCRIPT) : undefined;
  try {
    if (vmsnap) await execOk(t, ['mkdir', '-p', vmsnap.defaultTmpdir]);
    for (const i of times(opts.runs)) {
      if (interrupted()) return;
      if (vmsnap) {
        // What every VMSnap run costs before it does any work: Node starting, then VMSnap loading its modules.
        await timeIt('vmsnap overhead: node -e 0', () => execOk(t, [vmsnap.node, '-e', '0']));
        await timeIt('vmsnap overhead: vmsnap --help (node + its modules)', () => vmsnap.run(['--help']));
      }
      say(`\n=== bench: test guest, backups, restore (${i}/${opts.runs})`);
      const vm = await timeIt('test-VM creation (overlay + define)', () => vms.createTestVM(`bench-${i}`));
      await timeIt('guest boot (start to agent answering)', () => vms.startVM(vm));
      await vm.writeData('/root/a.bin', 16384);
      const dir = `${INNER_ROOT}/backups/${runId}-bench-${i}`;
      await timeIt('full backup (virtnbdbackup)', () => execOk(t, ['virtnbdbackup', '-d', vm.name, '-l', 'full', '-o', dir, '-n'], { timeout: 900_000 }));
      await vm.writeData('/root/b.bin', 4096);
      await timeIt('incremental backup (virtnbdbackup)', () => execOk(t, ['virtnbdbackup', '-d', vm.name, '-l', 'inc', '-o', dir, '-n'], { timeout: 900_000 }));
      await timeIt('restore (virtnbdrestore, full + incremental)', () => restoreBackup(t, dir, `${dir}-restore`));
      sample('memory: test guest QEMU (RSS)', await rssMiB(t, `guest=${vm.name}`), 'MiB');
      if (driverFor(config.provider).hasLabHost) sample('memory: lab host QEMU on this machine (RSS)', await rssMiB(new LocalTransport(), `guest=${outerNames(config).domain}`), 'MiB');
      await vms.destroyVM(vm);
      if (vmsnap) {
        const vm2 = await vms.createTestVM(`bench-vmsnap-${i}`);
        await vms.startVM(vm2);
        await vm2.writeData('/root/a.bin', 16384);
        const out = `${dir}-vmsnap`;
        for (const kind of ['full', 'incremental']) {
          const r = await timeIt(`${kind} backup (vmsnap)`, () => vmsnap.run([`--domains=${vm2.name}`, `--output=${out}`, '--backup']));
          if (r.exitCode !== 0) throw new Error(`vmsnap ${kind} backup failed (exit ${r.exitCode}): ${r.output.trim().split('\n').pop()}`);
          await vm2.writeData('/root/b.bin', 4096);
        }
        await vms.destroyVM(vm2);
      }
      await execOk(t, ['rm', '-rf', dir, `${dir}-restore`, `${dir}-restore.log`, `${dir}-vmsnap`]);
    }
  } finally {
    const report = await cleanup.releaseAll();
    await t.exec(['rm', '-rf', `${INNER_ROOT}/tmp/${runId}-bench`]);
    for (const f of report.failed) say(`bench: cleanup FAILED: ${f.name}: ${f.error}`);
    if (report.failed.length === 0) await releaseLease();
    await t.close();
  }
}

async function benchSuite(config: LabConfig, state: LabState): Promise<string[]> {
  const suites = suitesToRun(opts.suites, state.sut);
  const dir = path.join(PROJECT_ROOT, 'artifacts/bench', `suites-${dayjs().format('YYYYMMDD-HHmmss')}`);
  for (const i of times(opts.runs)) {
    if (interrupted()) break;
    say(`\n=== bench: whole suite ${suites.join(' + ')} (${i}/${opts.runs})`);
    const started = performance.now();
    let failed = 0;
    for (const s of suites) failed += (await runSuite(s, path.join(dir, `run-${i}`))).counts.failed;
    sample(`${WHOLE_SUITE} (${suites.join(' + ')})`, secondsSince(started));
    if (failed > 0) say(`bench: whole suite run ${i}: ${failed} test(s) failed (see ${path.relative(process.cwd(), dir)}/run-${i})`);
  }
  return suites;
}

const WHOLE_SUITE = 'whole suite';
const UPSTREAM = "VMSnap's own integration suite";

/**
 * VMSnap's own integration suite in the lab host, N times, from the configured
 * VMSnap checkout with its dev dependencies. Their suite creates guests by its
 * own names, so it runs only where there is a lab host to hold them.
 */
async function benchUpstream(config: LabConfig): Promise<UpstreamRun[]> {
  if (!driverFor(config.provider).hasLabHost) {
    cannotRun(UPSTREAM, `LAB_PROVIDER=${config.provider} has no lab host, and their suite would create its vmsnap-test-* guests on this machine's libvirt`);
    return [];
  }
  if (config.sut.kind === 'none') {
    cannotRun(UPSTREAM, `no VMSnap checkout (${config.sut.reason})`);
    return [];
  }
  await labUp(config);
  const lab = await connectLab(config);
  try {
    return await withSutSource(config.sut, async (src, from) => {
      const found = upstreamScript(src);
      if ('missing' in found) {
        cannotRun(UPSTREAM, found.missing);
        return [];
      }
      const root = `${INNER_ROOT}/vmsnap-upstream`;
      const reports = path.join(PROJECT_ROOT, 'artifacts/bench', `upstream-${dayjs().format('YYYYMMDD-HHmmss')}`);
      say(`\n=== bench: VMSnap's own suite from ${from}: installing it with its dev dependencies in the lab host`);
      await installCopy(lab.transport, lab.put, src, root, { devDependencies: true });
      try {
        return await runUpstreamN(lab, root, found.script, reports);
      } finally {
        await lab.transport.exec(['rm', '-rf', root]);
      }
    });
  } finally {
    await lab.transport.close();
  }
}

/** The suite at `root` N times: each run timed, its counts said, vitest's report kept under `reports`. */
async function runUpstreamN(lab: Lab, root: string, script: string, reports: string): Promise<UpstreamRun[]> {
  const runs: UpstreamRun[] = [];
  for (const i of times(opts.runs)) {
    if (interrupted()) break;
    say(`\n=== bench: ${UPSTREAM} (${script}) (${i}/${opts.runs})`);
    const r = await runUpstream(lab.transport, root, script);
    runs.push(r);
    sample(`${UPSTREAM} (${r.total} tests)`, r.seconds);
    const kept = path.join(reports, `run-${i}.json`);
    await mkdir(reports, { recursive: true });
    await writeFile(kept, r.report);
    say(`bench: ${UPSTREAM} run ${i}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (exit ${r.exitCode}); vitest's report: ${path.relative(process.cwd(), kept)}`);
  }
  return runs;
}

async function main(config: LabConfig): Promise<void> {
  const wasUp = await labAnswers(config);
  say(`bench: ${opts.runs} samples of ${groups.join(', ')}`);
  const started = new Date();
  let suites: string[] = [];
  let upstream: UpstreamRun[] = [];
  try {
    if (groups.includes('images')) {
      // Cold image builds measure the machine, not a lab competing for its two cores.
      if (wasUp) await labDown(config);
      await benchImages(config);
    }
    if (groups.includes('lab-up') && !interrupted()) await benchLabUp(config);
    if (groups.includes('guest') && !interrupted()) await benchGuest(config);
    if (groups.includes('suite') && !interrupted()) suites = await benchSuite(config, await labUp(config));
    if (groups.includes('upstream') && !interrupted()) upstream = await benchUpstream(config);
  } finally {
    if (!config.keep && !wasUp && (await readState(config))) await labDown(config);
  }
  const state = await readState(config);
  const rows = [...samples.entries()].map(([name, s]) => ({ name, unit: s.unit, stats: stats(s.values) as Stats, samples: s.values }));
  const file = path.join(PROJECT_ROOT, 'artifacts/bench', `${dayjs(started).format('YYYY-MM-DD-HHmmss')}.json`);
  await mkdir(path.dirname(file), { recursive: true });
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release() };
  const lab = state && { outerAccel: state.outerAccel?.accel, innerAccel: state.innerAccel.accel, versions: state.versions };
  const ratio = medianRatio(rows, WHOLE_SUITE, UPSTREAM);
  const upstreamCounts = upstream.map(({ total, passed, failed, skipped, exitCode, seconds }) => ({ total, passed, failed, skipped, exitCode, seconds: Math.round(seconds * 10) / 10 }));
  await writeFile(file, `${JSON.stringify({ startedAt: started.toISOString(), runs: opts.runs, groups, suites, machine, lab, phases: rows, ...(upstream.length ? { upstream: upstreamCounts } : {}), ...(ratio ? { ratio } : {}), ...(notRun.length ? { notRun } : {}), ...(interrupted() ? { interrupted: interrupted() } : {}) }, null, 2)}\n`);
  console.log(`\n${statsTable(rows)}`);
  for (const n of notRun) say(`bench: NOT RUN: ${n.phase}: ${n.reason}`);
  if (ratio) say(`bench: our whole suite / VMSnap's own suite: ${ratio.ours} s / ${ratio.theirs} s = ${ratio.ratio}x (medians; issue #14's goal: at most 3x)`);
  say(`bench: ${path.relative(process.cwd(), file)}`);
  if (interrupted()) {
    say(`bench: interrupted by ${interrupted()}: the table has the samples taken before it`);
    process.exitCode = 130;
  }
}

await runCli('bench', () => main(getLabConfig()));
