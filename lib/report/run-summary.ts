import { existsSync } from 'node:fs';
import { lstat, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LabState } from '../lab/lab-state.js';
import { readDefectRecords, type DefectRecord } from './known-defects.js';
import { listCases, type CaseResult, type Counts } from './junit-summary.js';
import { eventLine, type InfraEvent } from './rerun-merge.js';

/** `artifacts/reports/latest` → `<run-id>`: the newest run, whatever its id. */
export async function pointLatestAt(reportsRoot: string, runDir: string): Promise<void> {
  const latest = path.join(reportsRoot, 'latest');
  if (existsSync(latest) || (await lstat(latest).catch(() => undefined))) {
    // An old real folder (before per-run folders) or the previous link.
    await rm(latest, { recursive: true, force: true });
  }
  await symlink(path.basename(runDir), latest);
}

export interface RunSummary {
  runId: string;
  startedAt: string;
  finishedAt: string;
  counts: Counts;
  /** Seconds per phase: images, lab-up (with SUT install inside), each suite, lab-down. */
  phases: Record<string, number>;
  /** Lab-up's own timings (box add, vagrant up, SUT install, guest boot...). */
  labTimings?: Record<string, number>;
  lab?: {
    provider: string;
    /** How the lab host came up: cold, warm (booted) or restored (a saved lab-host state). */
    startPath?: string;
    outerAccel?: string;
    innerAccel: string;
    guestImage: string;
    versions: Record<string, string>;
    sut: LabState['sut'];
  };
  knownDefects: DefectRecord[];
  /** Lab-host deaths during the run: each replaced (or not), and what became of the test it hit. */
  infrastructureEvents: InfraEvent[];
  tests: (CaseResult & { infrastructureEvent?: string })[];
}

/** summary.json of one run: every test with status and duration, phases, versions, accelerations. */
export async function writeRunSummary(
  reportDir: string,
  run: { runId: string; startedAt: Date; counts: Counts; phases: Record<string, number>; lab?: LabState; events?: InfraEvent[] },
): Promise<RunSummary> {
  const events = run.events ?? [];
  const tests: RunSummary['tests'] = [];
  for (const f of (await readdir(reportDir)).filter((f) => f.endsWith('.xml')).sort()) {
    for (const c of await listCases(path.join(reportDir, f), path.basename(f, '.xml'))) {
      const e = events.find((x) => x.suite === c.suite && c.name.endsWith(x.test));
      tests.push({ ...c, ...(e ? { infrastructureEvent: eventLine(e) } : {}) });
    }
  }
  const l = run.lab;
  const summary: RunSummary = {
    runId: run.runId,
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    counts: run.counts,
    phases: run.phases,
    ...(l
      ? {
          labTimings: l.timings,
          lab: {
            provider: l.provider,
            ...(l.startPath ? { startPath: l.startPath } : {}),
            ...(l.outerAccel ? { outerAccel: `${l.outerAccel.accel} (${l.outerAccel.detail})` } : {}),
            innerAccel: `${l.innerAccel.accel} (${l.innerAccel.detail})`,
            guestImage: `${l.guestImage.name}-${l.guestImage.hash} (${l.guestImage.source})`,
            versions: l.versions,
            sut: l.sut,
          },
        }
      : {}),
    knownDefects: readDefectRecords(reportDir),
    infrastructureEvents: events,
    tests,
  };
  await writeFile(path.join(reportDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
