import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import marge from 'mochawesome-report-generator';
import { PROJECT_ROOT } from './config.js';
import { say } from './log.js';
import { countJunit, listCases, type Counts } from './report/junit-summary.js';
import type { SutState } from './lab/lab-state.js';
import { defectsFileFor } from './report/known-defects.js';
import { writeNotRun } from './report/not-run.js';
import { eventLine, exactTitles, finishedTests, mergeDefects, mergeJunit, mergeMochawesome, type AttemptPart, type InfraEvent } from './report/rerun-merge.js';

export interface SuiteRun {
  exitCode: number;
  counts: Counts;
  seconds: number;
  /** Its JUnit file (always written: a crashed suite gets one that says so). */
  junit: string;
  /** The lab host deaths during this suite, each with what became of the test it hit. */
  events: InfraEvent[];
}

/**
 * Replacing a lab host that died in the middle of a suite (the plan: "use
 * retries for flaky infrastructure operations"). Only a dead or restarted lab
 * host counts, found by the suite's own check after a failed test; an assertion
 * failure is never run again.
 */
export interface Recovery {
  /** Brings a new lab host up in place of the dead one (lab-down, lab-up). */
  replaceLab: () => Promise<void>;
  /** Every lab-host death of the whole run, shared by its suites. */
  events: InfraEvent[];
  /** How many deaths a run survives (LAB_MAX_DEATHS); one more fails it. */
  max: number;
}

/** Where a suite's lab fixture says that the lab host died, and during which test. */
export function labHostDiedFile(reportDir: string, suite: string): string {
  return path.join(reportDir, `${suite}.lab-host-died.json`);
}

function reportFiles(reportDir: string, name: string): AttemptPart {
  const junit = path.join(reportDir, `${name}.xml`);
  return { junit, mochawesome: path.join(reportDir, `${name}.json`), defects: defectsFileFor(junit) };
}

async function moveAttempt(reportDir: string, name: string, attempt: number): Promise<AttemptPart> {
  const dir = path.join(reportDir, 'attempts', `${name}-${attempt}`);
  await mkdir(dir, { recursive: true });
  const from = reportFiles(reportDir, name);
  const to = reportFiles(dir, name);
  for (const k of ['junit', 'mochawesome', 'defects'] as const) if (existsSync(from[k])) await rename(from[k], to[k]);
  await rm(path.join(reportDir, `${name}.html`), { force: true });
  return to;
}

async function mocha(name: string, junit: string, env: Record<string, string>, args: string[]): Promise<number> {
  // Mocha from node_modules directly: npx would start npm, which warns about the machine's npm settings.
  const r = await execa(path.join(PROJECT_ROOT, 'node_modules/.bin/mocha'), ['--config', `test/${name}/.mocharc.json`, ...args], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    reject: false,
    // The HTML/JSON report beside the JUnit file, also for a suite started from inside another (whose values it would inherit).
    env: { MOCHA_FILE: junit, MOCHAWESOME_REPORTDIR: path.dirname(junit), MOCHAWESOME_REPORTFILENAME: path.basename(junit, '.xml'), ...env },
  });
  return r.exitCode ?? 1;
}

/**
 * Runs one Mocha suite (`test/<name>/.mocharc.json`) with its JUnit file and
 * HTML report in `reportDir`. Used by `make test`, `make soak` and `make bench`.
 * With `recovery`: when the lab host dies during a test, it is replaced and the
 * suite runs again on the new one without the tests that had finished (Mocha's
 * `--grep ... --invert`), so the test it hit runs once more and the rest for
 * the first time. A second death in the same test, or more than `max` in the
 * run, ends the suite as it is. The report reads as one run, the test marked
 * with the event (lib/report/rerun-merge.ts). `args`: more Mocha arguments for
 * every attempt (a shard's `--ignore`s).
 */
export async function runSuite(name: string, reportDir: string, env: Record<string, string> = {}, recovery?: Recovery, args: string[] = []): Promise<SuiteRun> {
  const files = reportFiles(reportDir, name);
  const started = performance.now();
  const died = labHostDiedFile(reportDir, name);
  await rm(died, { force: true });
  const events: InfraEvent[] = [];
  const parts: AttemptPart[] = [];
  const finished: string[] = [];
  let exitCode = await mocha(name, files.junit, env, args);
  for (let attempt = 1; recovery && existsSync(died) && existsSync(files.junit); attempt++) {
    const record = JSON.parse(await readFile(died, 'utf8')) as { test: string; why: string; console: string[] };
    await rm(died, { force: true });
    const event: InfraEvent = { suite: name, test: record.test, why: record.why, console: record.console };
    events.push(event);
    const part = await moveAttempt(reportDir, name, attempt);
    const again = recovery.events.some((e) => e.suite === name && e.test === event.test);
    if (again || recovery.events.length >= recovery.max) {
      // The suite ends as this attempt left it: the test fails with the lab host's console in its error.
      event.rerun = 'not run';
      say(`lab: THE LAB HOST DIED ${again ? 'again in the same test' : `for the ${recovery.events.length + 1}th time in this run (LAB_MAX_DEATHS=${recovery.max})`}: not replaced; ${eventLine(event)}`);
      recovery.events.push(event);
      parts.push(part);
      break;
    }
    recovery.events.push(event);
    const keep = await finishedTests(part.junit, event.test);
    parts.push({ ...part, keep });
    finished.push(...keep);
    say(`\nlab: THE LAB HOST DIED during "${event.test}" (${event.why}); replacing it, then running that test again and the ${name} suite's tests that had not run`);
    const replaceStarted = performance.now();
    try {
      await recovery.replaceLab();
    } catch (error) {
      event.rerun = 'not run';
      say(`lab: the lab host could not be replaced: ${(error as Error).message.split('\n')[0]}`);
      parts[parts.length - 1] = part; // every test of that attempt, the failures included
      exitCode = 1;
      break;
    }
    event.replacedInS = Math.round((performance.now() - replaceStarted) / 100) / 10;
    say(`lab: replaced in ${event.replacedInS} s; ${name} suite, attempt ${attempt + 1}`);
    // Titles are the same before and after a test runs (marks go into properties: lib/report/test-marks.ts).
    exitCode = await mocha(name, files.junit, env, [...args, ...(finished.length > 0 ? ['--grep', exactTitles(finished), '--invert'] : [])]);
  }
  if (parts.length > 0) {
    // The last attempt, whole, after the kept parts of those before it.
    if (existsSync(files.junit)) parts.push(await moveAttempt(reportDir, name, parts.length + 1));
    // What became of each test a death hit: its run in the next attempt (one death per attempt: event i ended attempt i).
    for (const [i, e] of events.entries()) {
      const next = parts[i + 1];
      const cases = next && existsSync(next.junit) ? await listCases(next.junit, name) : [];
      e.rerun ??= cases.find((c) => c.name.endsWith(e.test))?.status ?? 'not run';
    }
    await mergeJunit(parts, files.junit, events);
    await mergeMochawesome(parts, files.mochawesome, events);
    await mergeDefects(parts, files.defects);
    if (existsSync(files.mochawesome)) {
      const report = JSON.parse(await readFile(files.mochawesome, 'utf8')) as object;
      await marge.create(report, { reportDir, reportFilename: name, inline: true, charts: false, code: false, saveJson: false });
    }
  }
  if (!existsSync(files.junit)) {
    // A suite that died before writing its report failed; it must not vanish from the counts.
    await writeNotRun(files.junit, name, [`${name} suite`], `the suite did not start or crashed (exit ${exitCode}); see its output above`, 'failure');
  }
  const counts = await countJunit(files.junit);
  // The last attempt's exit code speaks for it alone: a test that failed before the death still fails the suite.
  if (counts.failed > 0 && exitCode === 0) exitCode = 1;
  for (const e of events) say(`lab: infrastructure event: ${eventLine(e)}`);
  return { exitCode, counts, seconds: Math.round((performance.now() - started) / 100) / 10, junit: files.junit, events };
}

/** `--suites a,b` as given, or the lab suite plus the VMSnap suites when VMSnap is installed. */
export function suitesToRun(list: string | undefined, sut: SutState): string[] {
  return list?.split(',').map((s) => s.trim()).filter(Boolean) ?? ['lab', ...(sut.kind === 'installed' ? ['integration'] : [])];
}
