import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import dayjs from 'dayjs';
import { stats } from '../bench/stats.js';
import { getLabConfig, PROJECT_ROOT, type LabConfig } from '../config.js';
import { driverFor } from '../lab/drivers/index.js';
import { labAnswers, labBootId, labDown, labRecovery, labUp } from '../lab/lab-up.js';
import { say } from '../log.js';
import { positiveInt, runCli, stopAfterCurrent } from './cli-kit.js';
import { flakeReport } from '../report/flakes.js';
import { listCases, summaryLine, type CaseResult, type Counts } from '../report/junit-summary.js';
import { runSuite, suitesToRun } from '../suites.js';
import { eventLine, type InfraEvent } from '../report/rerun-merge.js';

// `make soak N=5`: the suites N times in a row against one lab, then the flake
// rate (a test that fails in one run and passes in the next is a flake). Each
// run's suites end with their leftover audit; lab-down audits this machine.
// A lab host that dies during a run is reported as such (with its kernel's
// complaints) and replaced before the next run: the runs after it would only
// measure a dead lab.

const program = new Command('soak')
  .description('run the suites N times in a row and report the flake rate')
  .option('-n, --runs <n>', 'how many runs', positiveInt, Number(process.env.N ?? 5))
  .option('--suites <list>', 'suites per run (default: lab, and integration when VMSnap is installed)', process.env.SOAK_SUITES)
  .parse();
const opts = program.opts<{ runs: number; suites?: string }>();

const interrupted = stopAfterCurrent('suite');

interface RunRecord {
  run: number;
  seconds: number;
  counts: Counts;
  suites: Record<string, Counts & { seconds: number; exitCode: number }>;
  /** Set when the lab host stopped answering during this run: its console's complaints. */
  labHostDied?: string[];
  /** Lab-host deaths inside a suite that the runner survived by replacing the lab host: infrastructure, not flakes. */
  infraEvents: InfraEvent[];
}

async function main(config: LabConfig): Promise<void> {
  // A lab that was up before the soak stays up after it; one the soak made goes.
  const wasUp = await labAnswers(config);
  const lab = await labUp(config);
  const suites = suitesToRun(opts.suites, lab.sut);
  if (lab.sut.kind !== 'installed' && !opts.suites) say(`soak: the VMSnap suites are NOT in this soak: ${lab.sut.reason}`);
  const dir = path.join(PROJECT_ROOT, 'artifacts/soak', dayjs().format('YYYYMMDD-HHmmss'));
  say(`soak: ${opts.runs} runs of ${suites.join(' + ')}; reports in ${path.relative(process.cwd(), dir)}`);
  const runs: RunRecord[] = [];
  const cases: CaseResult[][] = [];
  for (let i = 1; i <= opts.runs && !interrupted(); i++) {
    const runDir = path.join(dir, `run-${i}`);
    const started = performance.now();
    const record: RunRecord = { run: i, seconds: 0, counts: { passed: 0, failed: 0, skipped: 0 }, suites: {}, infraEvents: [] };
    // Each run survives up to LAB_MAX_DEATHS lab-host deaths, as `make test` does (lib/suites.ts).
    const recovery = labRecovery(config, record.infraEvents);
    const results: CaseResult[] = [];
    // A lab host that reset during the run answers again at its end: its boot id tells.
    const bootId = await labBootId(config);
    for (const suite of suites) {
      if (interrupted()) break;
      say(`\n=== soak run ${i}/${opts.runs}: ${suite}`);
      const r = await runSuite(suite, runDir, {}, recovery);
      record.suites[suite] = { ...r.counts, seconds: r.seconds, exitCode: r.exitCode };
      for (const k of ['passed', 'failed', 'skipped'] as const) record.counts[k] += r.counts[k];
      results.push(...(await listCases(r.junit, suite)));
    }
    record.seconds = Math.round((performance.now() - started) / 100) / 10;
    runs.push(record);
    cases.push(results);
    say(`soak run ${i}/${opts.runs}: ${summaryLine(record.counts)} in ${record.seconds}s${record.infraEvents.length ? `, ${record.infraEvents.length} infrastructure event(s)` : ''}`);
    for (const e of record.infraEvents) say(`  INFRASTRUCTURE ${e.suite}: ${eventLine(e)}`);
    const bootIdAfter = await labBootId(config);
    // A lab host replaced inside a suite has a boot id of its own: only one that was not replaced can have reset.
    const replaced = record.infraEvents.some((e) => e.replacedInS !== undefined);
    const restarted = !replaced && bootId !== undefined && bootIdAfter !== undefined && bootIdAfter !== bootId;
    if (restarted || (record.counts.failed > 0 && !(await labAnswers(config)))) {
      record.labHostDied = driverFor(config.provider).complaints(config, restarted ? 'previous' : 'last');
      say(`soak run ${i}/${opts.runs}: THE LAB HOST DIED${restarted ? ' (it reset and came back)' : ''}; its console: ${record.labHostDied.slice(0, 3).join(' | ') || 'nothing'}`);
      if (i < opts.runs && !interrupted()) await labUp(config, record.infraEvents); // tears a dead lab down first, reuses one that came back
    }
  }

  const flakes = flakeReport(cases);
  const durations = runs.length > 0 ? stats(runs.map((r) => r.seconds)) : undefined;
  await mkdir(dir, { recursive: true });
  const out = { startedAt: new Date().toISOString(), suites, versions: lab.versions, innerAccel: lab.innerAccel, runs, runSeconds: durations, flakes, ...(interrupted() ? { interrupted: interrupted() } : {}) };
  await writeFile(path.join(dir, 'soak.json'), `${JSON.stringify(out, null, 2)}\n`);

  say('\nsoak summary');
  for (const r of runs) say(`  run ${r.run}: ${summaryLine(r.counts)} in ${r.seconds}s${r.labHostDied ? ', THE LAB HOST DIED' : ''}${r.infraEvents.length ? `, lab host replaced ${r.infraEvents.length}x` : ''}`);
  if (durations) say(`  run time (s): min ${durations.min}, median ${durations.median}, max ${durations.max}`);
  for (const f of flakes.flaky) say(`  FLAKY ${f.outcomes} ${f.name}`);
  for (const f of flakes.alwaysFailing) say(`  FAILS EVERY RUN ${f}`);
  for (const f of flakes.failedOther) say(`  FAILED ${f.outcomes} ${f.name}`);
  say(`  ${path.relative(process.cwd(), dir)}/soak.json`);
  if (!wasUp && !config.keep) await labDown(config);
  const deaths = runs.filter((r) => r.labHostDied).length;
  const infra = runs.reduce((n, r) => n + r.infraEvents.length, 0);
  console.log(
    `soak: ${runs.length} runs, ${flakes.tests} tests, ${flakes.flaky.length} flaky (flake rate ${(flakes.rate * 100).toFixed(1)}%), ` +
      `${flakes.alwaysFailing.length} failing every run, ${flakes.failedOther.length} other failed; ` +
      `infrastructure: ${infra} lab-host death(s) survived by replacing it, lab host died in ${deaths} run(s) unrecovered`,
  );
  if (interrupted() || runs.length < opts.runs) say(`soak: interrupted by ${interrupted()}: ${runs.length} of ${opts.runs} runs done`);
  const anyFailed = runs.some((r) => r.counts.failed > 0 || Object.values(r.suites).some((s) => s.exitCode !== 0));
  if (interrupted() || anyFailed) process.exitCode = interrupted() ? 130 : 1;
}

await runCli('soak', () => main(getLabConfig()));
