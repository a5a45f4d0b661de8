import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from './config.js';
import { countJunit, type Counts } from './report/junit-summary.js';
import type { SutState } from './lab/lab-state.js';
import { writeNotRun } from './report/not-run.js';

export interface SuiteRun {
  exitCode: number;
  counts: Counts;
  seconds: number;
  /** Its JUnit file (always written: a crashed suite gets one that says so). */
  junit: string;
}

/**
 * Runs one Mocha suite (`test/<name>/.mocharc.json`) with its JUnit file and
 * HTML report in `reportDir`. Used by `make test`, `make soak` and `make bench`.
 */
export async function runSuite(name: string, reportDir: string, env: Record<string, string> = {}): Promise<SuiteRun> {
  const junit = path.join(reportDir, `${name}.xml`);
  const started = performance.now();
  // Mocha from node_modules directly: npx would start npm, which warns about the machine's npm settings.
  const r = await execa(path.join(PROJECT_ROOT, 'node_modules/.bin/mocha'), ['--config', `test/${name}/.mocharc.json`], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    reject: false,
    env: { MOCHA_FILE: junit, ...env },
  });
  if (!existsSync(junit)) {
    // A suite that died before writing its report failed; it must not vanish from the counts.
    await writeNotRun(junit, name, [`${name} suite`], `the suite did not start or crashed (exit ${r.exitCode}); see its output above`, 'failure');
  }
  return { exitCode: r.exitCode ?? 1, counts: await countJunit(junit), seconds: Math.round((performance.now() - started) / 100) / 10, junit };
}

/** `--suites a,b` as given, or the lab suite plus the VMSnap suites when VMSnap is installed. */
export function suitesToRun(list: string | undefined, sut: SutState): string[] {
  return list?.split(',').map((s) => s.trim()).filter(Boolean) ?? ['lab', ...(sut.kind === 'installed' ? ['integration'] : [])];
}
