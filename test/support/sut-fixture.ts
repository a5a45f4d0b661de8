import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getLabConfig } from '../../lib/config.js';
import { refreshSut } from '../../lib/lab/lab-up.js';
import { lab } from './lab-fixture.js';
import { suiteReportDir } from './report-env.js';

/**
 * Global setup of the VMSnap suites, after the lab fixture's: VMSnap in the lab
 * host is made the configured checkout as it is now (changed files copied, a
 * whole install when the lockfile changed), so a kept lab never tests an older
 * VMSnap than the one being edited. What was tested goes into the report.
 */
export async function mochaGlobalSetup(): Promise<void> {
  const { lab: l, gate } = lab();
  try {
    // Exempt from the gate: this is setup, as the lab fixture's connection is.
    const next = await gate.exempt(() => refreshSut(getLabConfig(), l.state, l));
    Object.assign(l.state, next);
  } catch (error) {
    console.error(`lab: VMSnap could not be brought up to date in the lab host: ${(error as Error).message.split('\n')[0]}`);
    process.exit(1);
  }
  await writeFile(path.join(suiteReportDir, 'sut.json'), `${JSON.stringify(l.state.sut, null, 2)}\n`);
}
