import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { say } from '../log.js';
import { execOk, shellQuote, VIRSH_URI, type Transport } from '../transport/transport.js';

// VMSnap's own integration suite (its checkout's test/integration, run with
// vitest as its package.json says), run inside the lab host so that `make bench`
// can set our whole plan's time beside theirs on the same machine (issue #14,
// goal 5). Their code is run from the checkout, never copied into this
// repository. It gets a copy of its own, with its dev dependencies, apart from
// the VMSnap that the suites test (which has runtime dependencies only).
//
// Their suite names its guests `vmsnap-test-*` and works in
// /tmp/vmsnap-integration-test. In the lab host everything is the lab's, so what
// it leaves there is removed afterwards, and said. It never runs on a machine
// without a lab host: there it would touch the developer's own libvirt.

/** The npm script VMSnap's package.json runs its integration suite with. */
export const UPSTREAM_SCRIPT = 'test:integration';
/** What their suite creates, by its own names (test/integration/setup.js). */
export const UPSTREAM_VM_PREFIX = 'vmsnap-test';
export const UPSTREAM_TEST_DIR = '/tmp/vmsnap-integration-test';

/**
 * The command line of the checkout's integration suite (its package.json's
 * "test:integration" script), or why it has none.
 */
export function upstreamScript(src: string): { script: string } | { missing: string } {
  if (!existsSync(path.join(src, 'test', 'integration'))) return { missing: `${src} has no test/integration` };
  let scripts: Record<string, string>;
  try {
    scripts = (JSON.parse(readFileSync(path.join(src, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  } catch {
    return { missing: `${src}/package.json cannot be read` };
  }
  const script = scripts[UPSTREAM_SCRIPT];
  return script ? { script } : { missing: `${src}/package.json has no "${UPSTREAM_SCRIPT}" script` };
}

/** The counts of a vitest JSON report (`--reporter=json`). */
export interface UpstreamCounts {
  total: number;
  passed: number;
  failed: number;
  /** Skipped, pending or todo: not run. */
  skipped: number;
}

export function parseVitestJson(text: string): UpstreamCounts {
  const r = JSON.parse(text) as Partial<Record<'numTotalTests' | 'numPassedTests' | 'numFailedTests' | 'numPendingTests' | 'numTodoTests', number>>;
  if (typeof r.numTotalTests !== 'number' || typeof r.numPassedTests !== 'number' || typeof r.numFailedTests !== 'number') {
    throw new Error('not a vitest JSON report (no numTotalTests, numPassedTests or numFailedTests)');
  }
  return { total: r.numTotalTests, passed: r.numPassedTests, failed: r.numFailedTests, skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0) };
}

export interface UpstreamRun extends UpstreamCounts {
  seconds: number;
  exitCode: number;
  /** vitest's JSON report as it wrote it: each test's result and failure messages. */
  report: string;
}

/** Removes what VMSnap's suite left in the lab host and says what that was. */
async function removeLeftovers(t: Transport): Promise<string[]> {
  const list = await execOk(t, ['virsh', ...VIRSH_URI, 'list', '--all', '--name']);
  const guests = list.stdout.split('\n').map((s) => s.trim()).filter((n) => n.startsWith(`${UPSTREAM_VM_PREFIX}-`));
  for (const g of guests) {
    await t.exec(['virsh', ...VIRSH_URI, 'destroy', g]);
    await execOk(t, ['virsh', ...VIRSH_URI, 'undefine', g, '--checkpoints-metadata']);
  }
  const dir = (await t.exec(['test', '-e', UPSTREAM_TEST_DIR])).exitCode === 0;
  if (dir) await execOk(t, ['rm', '-rf', UPSTREAM_TEST_DIR]);
  return [...guests.map((g) => `guest ${g}`), ...(dir ? [UPSTREAM_TEST_DIR] : [])];
}

/**
 * Runs the suite at `root` in the lab host with `script` (its package.json's
 * command line) as `npm run` would: in the checkout, with node_modules/.bin on
 * the PATH (the lab host has Node but no npm). Timed from its start to its end;
 * its counts come from vitest's JSON report. What it leaves (guests, its
 * folder) is removed before and after, and said.
 */
export async function runUpstream(t: Transport, root: string, script: string, timeoutMs = 3_600_000): Promise<UpstreamRun> {
  const before = await removeLeftovers(t);
  if (before.length > 0) say(`bench: VMSnap's own suite: removed what an earlier run of it left: ${before.join(', ')}`);
  const report = `${root}/.vmsnap-lab-vitest.json`;
  const q = (p: string) => shellQuote([p]);
  const cmd = `cd ${q(root)} && rm -f ${q(report)} && PATH=${q(`${root}/node_modules/.bin`)}:$PATH exec sh -c ${q(`${script} "$@"`)} sh --reporter=dot --reporter=json --outputFile.json=${q(report)}`;
  const started = performance.now();
  let r;
  let seconds: number;
  try {
    r = await t.exec(cmd, { timeout: timeoutMs });
    seconds = (performance.now() - started) / 1000;
  } finally {
    const left = await removeLeftovers(t).catch((e: Error) => [`(not checked: ${e.message})`]);
    if (left.length > 0) say(`bench: VMSnap's own suite left ${left.join(', ')}: removed`);
  }
  const json = await t.exec(['cat', report]);
  if (json.exitCode !== 0) throw new Error(`VMSnap's own suite wrote no report (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`);
  return { ...parseVitestJson(json.stdout), seconds, exitCode: r.exitCode, report: json.stdout };
}
