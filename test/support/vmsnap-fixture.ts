import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { INNER_ROOT } from '../../lib/lab/lab-paths.js';
import { execOk } from '../../lib/transport/transport.js';
import { LAB_USER, removeLabUser, unprivilegedUser } from '../../lib/vmsnap/fixtures.js';
import { describeRun, realtimeShimsScript, VMSNAP_SCRIPT, VMSnapRunner, type VMSnapOptions, type VMSnapResult } from '../../lib/vmsnap/vmsnap-runner.js';
import { lab } from './lab-fixture.js';
import { suiteName, suiteReportDir } from './report-env.js';

/**
 * What the VMSnap suites share: a runner for the installed VMSnap, this run's
 * lock folder (TMPDIR) and a fresh backup root per test. Every folder is
 * registered for cleanup when created. Every VMSnap run is appended to
 * `<reports>/integration-vmsnap.log`, so a failure's VMSnap output is in the report.
 */
let runner: VMSnapRunner | undefined;
let counter = 0;

const runLog = path.join(suiteReportDir, `${suiteName}-vmsnap.log`);

async function ensureRunner(): Promise<VMSnapRunner> {
  if (runner) return runner;
  const { lab: l, runId, cleanup } = lab();
  if (l.state.sut.kind !== 'installed') throw new Error(`no VMSnap in the lab: ${l.state.sut.reason}; set VMSNAP_SRC and run \`make lab-up\``);
  const t = l.transport;
  const tmp = `${INNER_ROOT}/tmp/${runId}-vmsnap`;
  await execOk(t, ['mkdir', '-p', '-m', '1777', tmp]);
  cleanup.register(`VMSnap lock folder ${tmp}`, async () => {
    await execOk(t, ['rm', '-rf', tmp]);
  });
  const node = (await execOk(t, 'command -v node')).stdout.trim();
  const shims = `${tmp}/realtime-bin`;
  await execOk(t, realtimeShimsScript(shims));
  runner = new VMSnapRunner(t, tmp, node, VMSNAP_SCRIPT, shims);
  return runner;
}

/** Runs VMSnap in the lab host; never throws for a non-zero exit (tests assert it). */
export async function execVMSnap(args: readonly string[], options: VMSnapOptions = {}): Promise<VMSnapResult> {
  const r = await (await ensureRunner()).run(args, options);
  mkdirSync(path.dirname(runLog), { recursive: true });
  appendFileSync(runLog, `${describeRun(r)}\n\n`);
  return r;
}

let userRegistered = false;

/** The unprivileged lab user (see unprivilegedUser), removed at cleanup. */
export async function labUser(): Promise<NonNullable<VMSnapOptions['user']>> {
  const { lab: l, cleanup } = lab();
  const user = await unprivilegedUser(l.transport, `${await lockFolder()}/home-${LAB_USER}`);
  if (!userRegistered) {
    userRegistered = true;
    cleanup.register(`user ${LAB_USER}`, () => removeLabUser(l.transport));
  }
  return user;
}

/** The shell command line of a VMSnap run, for tests that run VMSnap inside their own script. */
export async function execVMSnapCommandLine(args: readonly string[], options: VMSnapOptions = {}): Promise<string> {
  return (await ensureRunner()).commandLine(args, options);
}

/** The lab host folder VMSnap's runs of this test run use as TMPDIR (its lock file lives there). */
export async function lockFolder(): Promise<string> {
  return (await ensureRunner()).defaultTmpdir;
}

/** A new, empty folder in the lab host for one test's backups, removed at cleanup. */
export async function freshDir(label: string): Promise<string> {
  const { lab: l, runId, cleanup } = lab();
  const dir = `${INNER_ROOT}/backups/${runId}-${label}-${++counter}`;
  await execOk(l.transport, ['mkdir', '-p', dir]);
  cleanup.register(`folder ${dir}`, async () => {
    // chattr -i: a test may have made something immutable to force a failure.
    await l.transport.exec(`chattr -R -i ${dir} 2>/dev/null; true`);
    await execOk(l.transport, ['rm', '-rf', dir]);
  });
  return dir;
}

export { describeRun };

/** The lab host's own date (its clock, not this machine's): what VMSnap sees without a fake clock. */
export async function labNow(): Promise<import('dayjs').Dayjs> {
  const { default: dayjs } = await import('dayjs');
  return dayjs((await execOk(lab().lab.transport, ['date', '+%Y-%m-%dT%H:%M:%S'])).stdout.trim());
}

export { notRun } from './test-marks.js';
