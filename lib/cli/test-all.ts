import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import dayjs from 'dayjs';
import { ConfigError, getLabConfig, PROJECT_ROOT, type LabConfig } from '../config.js';
import { buildImages } from '../images/images.js';
import { serialConsoleTrouble } from '../lab/lab-health.js';
import { labPaths } from '../lab/lab-paths.js';
import { driverFor } from '../lab/drivers/index.js';
import { readState } from '../lab/lab-state.js';
import { labDown, labRecovery, labUp } from '../lab/lab-up.js';
import { defineSentinel, removeSentinel, type Sentinel } from '../lab/sentinel.js';
import { say } from '../log.js';
import { secondsSince } from '../progress.js';
import { countJunit, summaryLine, type Counts } from '../report/junit-summary.js';
import { writeRunHtml } from '../report/html-report.js';
import { writeNotRun } from '../report/not-run.js';
import { defectSummaryLines, readDefectRecords } from '../report/known-defects.js';
import { pointLatestAt, writeRunSummary } from '../report/run-summary.js';
import { runSuite, type Recovery } from '../suites.js';
import { eventLine } from '../report/rerun-merge.js';
import { durationsByFile, filesToIgnore, planShards, SHARD_RECORD, shardRecord, type ShardRecord } from '../report/shard.js';
import { LocalTransport } from '../transport/local-transport.js';

// `make test`: every suite, in Molecule's order. Unit, images, then with the lab:
// destroy-first (a broken lab is torn down by lab-up), create, verify (lab and
// VMSnap suites), destroy unless LAB_KEEP=1, then check what lab-down left.
// A suite that cannot run is written down as not run, with the reason.

// Each run has its own folder, artifacts/reports/<run-id>, and `latest` points at
// it; REPORT_DIR=... puts a run's reports elsewhere (CI uses that).
const startedAt = new Date();
const runId = `${dayjs(startedAt).format('YYYYMMDD-HHmmss')}-${randomBytes(2).toString('hex')}`;
const reportsRoot = path.join(PROJECT_ROOT, 'artifacts/reports');
const reportDir = path.resolve(process.env.REPORT_DIR ?? path.join(reportsRoot, runId));
const phases: Record<string, number> = {};
let failed = false;

// Ctrl-C (or SIGTERM): the running step ends (a mocha suite releases its guests
// itself on the same signal), the remaining steps are skipped, and the lab is
// still taken down unless LAB_KEEP=1. A second signal does not cut that short.
let interrupted: NodeJS.Signals | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return say(`${signal} again: still taking the lab down, please wait`);
    interrupted = signal;
    failed = true;
    say(`\n${signal}: stopping after the running step; then lab-down (unless LAB_KEEP=1)`);
  });
}

async function phase<T>(name: string, fn: () => Promise<T>, opts: { teardown?: boolean } = {}): Promise<T | undefined> {
  if (interrupted && !opts.teardown) {
    say(`=== ${name}: skipped (${interrupted})`);
    return undefined;
  }
  const started = performance.now();
  say(`\n=== ${name}`);
  try {
    const result = await fn();
    say(`=== ${name} done (${secondsSince(started)}s)`);
    return result;
  } catch (error) {
    failed = true;
    say(`=== ${name} FAILED after ${secondsSince(started)}s: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  } finally {
    phases[name] = secondsSince(started);
  }
}

async function suite(name: string, env: Record<string, string> = {}, recovery?: Recovery, args: string[] = []): Promise<boolean> {
  const r = await runSuite(name, reportDir, env, recovery, args);
  if (r.exitCode !== 0) throw new Error(`the ${name} suite failed (exit ${r.exitCode})`);
  return true;
}


// The VMSnap suites (test/integration, one file per category of the plan): what a
// run without VMSnap reports as not run.
const RECOVERY_TEST = 'a lab host destroyed in the middle of a suite is replaced, and the suite goes on';
const COEXIST_TEST = 'Two labs side by side: a prefix isolates';
const VMSNAP_SUITES = ['Basic Backup Operations', 'Incremental Backups', 'Backup Rotation', 'Scrubbing Operations', 'Status Commands', 'Error Scenarios'];

/**
 * The lab host's serial console goes into the report (the place CI uploads), and
 * its kernel's complaints of the last boot (oops, panic, lockups) are printed:
 * a lab host that died says why here, where nothing over SSH can.
 */
async function keepLabHostConsole(config: LabConfig): Promise<void> {
  const serial = labPaths(config).serialLog;
  // A lab host of this run that was replaced (it died): lab-up set its console aside.
  const previous = `${serial}.previous`;
  if (existsSync(previous) && statSync(previous).mtimeMs >= startedAt.getTime()) await copyFile(previous, path.join(reportDir, 'lab-host-console.previous.log'));
  if (!existsSync(serial)) return;
  await copyFile(serial, path.join(reportDir, 'lab-host-console.log'));
  const trouble = serialConsoleTrouble(serial);
  if (trouble.length === 0) return;
  say(`lab host console: the kernel complained (${path.relative(process.cwd(), reportDir)}/lab-host-console.log):`);
  for (const l of trouble) say(`  ${l}`);
}

/**
 * With SHARD=i/n: which lab-backed suites this shard runs and the Mocha
 * `--ignore`s that leave out the other shards' files (lib/report/shard.ts),
 * balanced by the last report's durations (read before this run's report
 * becomes `latest`). Without: every suite whole.
 */
function shardSelection(config: LabConfig): { select: (suite: string) => string[] | undefined; record?: ShardRecord } {
  const shard = config.shard;
  if (!shard) return { select: () => [] };
  const latest = path.join(reportsRoot, 'latest');
  const durations = durationsByFile(latest, PROJECT_ROOT);
  const plan = planShards(PROJECT_ROOT, SHARDED_SUITES, shard.total, durations);
  const mine = [...plan.shardOf].filter(([, s]) => s === shard.index).map(([f]) => f);
  say(
    `shard ${shard.index}/${shard.total}: ${mine.length} spec file(s), ${durations.size > 0 ? `about ${Math.round(plan.loads[shard.index - 1] ?? 0)} s by the last report (shards: ${plan.loads.map(Math.round).join(' / ')} s)` : 'balanced by file (no earlier report)'}: ${mine.join(', ')}`,
  );
  const from = existsSync(latest) ? path.relative(PROJECT_ROOT, realpathSync(latest)) : undefined;
  return {
    select: (suite) => {
      const ignore = filesToIgnore(PROJECT_ROOT, suite, shard.index, plan);
      return ignore && ignore.flatMap((f) => ['--ignore', f]);
    },
    record: shardRecord(shard, plan, durations, from),
  };
}

/** The suites whose spec files are shared out between shards; every shard runs the per-lab checks. */
const SHARDED_SUITES = ['lab', 'integration', 'recovery'];

async function main(config: LabConfig): Promise<void> {
  // A lab host (vagrant) can be destroyed and replaced, has a console and is removed by lab-down; the local provider has none.
  const { hasLabHost } = driverFor(config.provider);
  if (config.sut.kind === 'none' && !config.sut.reason.startsWith('SUT=none')) {
    throw new ConfigError([`${config.sut.reason}`]);
  }
  const { select, record } = shardSelection(config);
  // The suites that need no lab run once, in shard 1 (or in the only run).
  const firstShard = !config.shard || config.shard.index === 1;
  await mkdir(reportDir, { recursive: true });
  if (!process.env.REPORT_DIR) await pointLatestAt(reportsRoot, reportDir);
  say(`reports: ${path.relative(process.cwd(), reportDir)}`);
  // What this shard planned: make report-merge refuses shards that did not plan alike.
  if (record) await writeFile(path.join(reportDir, SHARD_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  const local = new LocalTransport();

  if (firstShard) await phase('unit suite', () => suite('unit'));
  const images = await phase('images', () => buildImages(config, { force: false, guestOnly: !hasLabHost }));
  if (!firstShard) say('=== unit and images suites: in shard 1');
  else if (images) await phase('images suite', () => suite('images'));
  else await writeNotRun(path.join(reportDir, 'images.xml'), 'images', ['test-guest image and lab-host box'], 'make images failed');

  let sentinel: Sentinel | undefined;
  const sentinelFile = path.join(reportDir, 'sentinel.json');
  if (hasLabHost) sentinel = await phase('define sentinel', () => defineSentinel(local, sentinelFile));
  const recovery = labRecovery(config);
  // A lab host that dies while lab-up sets it up is replaced once and reported like one that dies in a test.
  const up = images ? await phase('lab-up', () => labUp(config, recovery?.events)) : undefined;
  const labArgs = select('lab');
  const integrationArgs = select('integration');
  const recoveryArgs = select('recovery');
  if (up) {
    if (labArgs) await phase('lab suite', () => suite('lab', {}, recovery, labArgs));
    if (up.sut.kind === 'installed') {
      say(`\n=== VMSnap ${up.sut.label ?? `${up.sut.version} (${up.sut.commit.slice(0, 12)})`} from ${up.sut.from}`);
      if (integrationArgs) await phase('VMSnap suites', () => suite('integration', {}, recovery, integrationArgs));
    } else {
      say(`\n=== VMSnap suites: NOT RUN: ${up.sut.reason}`);
      await writeNotRun(path.join(reportDir, 'integration.xml'), 'VMSnap integration', VMSNAP_SUITES, up.sut.reason);
    }
    // A second lab beside this one (brought up and down by the suite), in shard 1 only; asked
    // for with LAB_COEXIST=1 (about 3.5 min: with it, CI's whole run here took 61.9 min of its 60).
    if (!hasLabHost) await writeNotRun(path.join(reportDir, 'coexist.xml'), 'coexist', [COEXIST_TEST], 'the local provider has no lab host to run beside another');
    else if (!config.coexist) await writeNotRun(path.join(reportDir, 'coexist.xml'), 'coexist', [COEXIST_TEST], 'not asked for: LAB_COEXIST=1 make test, or make test-coexist, runs it');
    else if (firstShard) await phase('coexist suite', () => suite('coexist'));
    // Last with the lab: it destroys the lab host on purpose and leaves its replacement up.
    if (!hasLabHost) await writeNotRun(path.join(reportDir, 'recovery.xml'), 'recovery', [RECOVERY_TEST], 'the local provider has no lab host to destroy and replace');
    else if (recoveryArgs) await phase('recovery suite', () => suite('recovery', {}, undefined, recoveryArgs));
  } else {
    // Not run because something failed: counted as failed, so CI's last line says so too.
    const reason = images ? 'lab-up failed' : 'make images failed';
    await writeNotRun(path.join(reportDir, 'lab.xml'), 'lab', ['lab suite'], reason, 'failure');
    await writeNotRun(path.join(reportDir, 'integration.xml'), 'VMSnap integration', VMSNAP_SUITES, reason, config.sut.kind === 'none' ? 'skipped' : 'failure');
    await writeNotRun(path.join(reportDir, 'recovery.xml'), 'recovery', [RECOVERY_TEST], reason, 'failure');
    if (firstShard) await writeNotRun(path.join(reportDir, 'coexist.xml'), 'coexist', [COEXIST_TEST], reason, 'failure');
  }
  if (config.keep) {
    say('\n=== LAB_KEEP=1: the lab stays up; the after-lab-down checks are not run');
    await writeNotRun(path.join(reportDir, 'lifecycle.xml'), 'lifecycle', ['after lab-down'], 'LAB_KEEP=1 kept the lab up');
  } else {
    const down = await phase(
      'lab-down',
      async () => {
        await labDown(config);
        return true;
      },
      { teardown: true },
    );
    if (down && hasLabHost) await phase('after lab-down suite', () => suite('lifecycle', { LAB_SENTINEL_FILE: sentinelFile, LAB_UP_DONE: up ? '1' : '0' }), { teardown: true });
    else await writeNotRun(path.join(reportDir, 'lifecycle.xml'), 'lifecycle', ['after lab-down'], down ? 'local provider: no lab host to take down' : 'lab-down failed');
  }
  if (sentinel) await removeSentinel(local, sentinel);
  if (hasLabHost) await keepLabHostConsole(config);

  const total: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const f of (await readdir(reportDir)).filter((f) => f.endsWith('.xml')).sort()) {
    const c = await countJunit(path.join(reportDir, f));
    say(`  ${f.padEnd(18)} ${summaryLine(c)}`);
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
  }
  say(`phases (s): ${Object.entries(phases).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  // The state as the suites left it: the VMSnap suites bring VMSnap up to date themselves.
  const lab = up && ((await readState(config).catch(() => undefined)) ?? up);
  const events = recovery?.events ?? [];
  await writeRunSummary(reportDir, { runId, startedAt, counts: total, phases, events, ...(lab ? { lab } : {}) });
  const html = await writeRunHtml(reportDir, `vmsnap-lab run ${runId}`).catch((e: Error) => say(`report: no index.html: ${e.message.split('\n')[0]}`));
  say(`report: ${path.relative(process.cwd(), reportDir)}/summary.json${html ? `, ${path.relative(process.cwd(), html)}` : ''} and one <suite>.html per suite`);
  const defects = readDefectRecords(reportDir);
  for (const line of defectSummaryLines(defects)) say(line);
  if (events.length > 0) say(`INFRASTRUCTURE: the lab host died ${events.length} time(s) (LAB_MAX_DEATHS=${config.maxDeaths}); never counted as a plain pass:`);
  for (const e of events) say(`  INFRASTRUCTURE ${e.suite}: ${eventLine(e)}`);
  console.log(summaryLine(total));
  if (interrupted) say(`interrupted by ${interrupted}: the steps after it were skipped`);
  if (failed || total.failed > 0) process.exitCode = interrupted ? 130 : 1;
}

try {
  if (existsSync(reportDir)) {
    // A fresh report per run: stale XML from an earlier run must not be counted.
    for (const f of await readdir(reportDir)) if (/\.(xml|json|log)$/.test(f)) await rm(path.join(reportDir, f), { force: true });
  }
  await main(getLabConfig());
} catch (error) {
  const lines = error instanceof ConfigError ? error.problems : [(error as Error).message.split('\n')[0] as string];
  for (const l of lines) console.error(`test: ${l}`);
  process.exitCode = 1;
}
