import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { collectFailureEvidence, slug } from '../../lib/report/failure-evidence.js';
import { CleanupRegistry } from '../../lib/cleanup/cleanup-registry.js';
import { releaseOnSignals } from '../../lib/cleanup/signals.js';
import { getLabConfig } from '../../lib/config.js';
import { connectLab, type Lab } from '../../lib/lab/lab.js';
import { driverFor } from '../../lib/lab/drivers/index.js';
import { labHostBootId, labHostGone } from '../../lib/lab/lab-health.js';
import { nothingLeft, stopRunProcesses, sweepRun } from '../../lib/lab/run-reaper.js';
import { sweepDeadRuns, sweptLines, takeLease } from '../../lib/lab/run-lease.js';
import { GatedTransport } from '../../lib/transport/gated-transport.js';
import { labHostDiedFile } from '../../lib/suites.js';
import { suiteName, suiteReportDir } from './report-env.js';
import { VMManager } from '../../lib/vm/vm-manager.js';

/**
 * One lab connection and one cleanup registry for a whole suite run. Files get
 * them through `lab()`; every guest they create is registered and released at
 * the end, also on Ctrl-C (SIGINT) and SIGTERM.
 */
let current: { lab: Lab; vms: VMManager; cleanup: CleanupRegistry; runId: string; gate: GatedTransport; bootId: string; releaseLease: () => Promise<void> } | undefined;
let stopSignals: (() => void) | undefined;
/** Set once the lab host stopped answering: why, and after which test. */
let gone: string | undefined;
/** The lab host that went had reset and answers again: its cleanup can still run. */
let goneButBack = false;

export function lab() {
  if (!current) throw new Error('lab fixture not set up');
  return current;
}

export async function mochaGlobalSetup(): Promise<void> {
  const config = getLabConfig();
  let connected: Lab;
  let bootId: string;
  let releaseLease: () => Promise<void>;
  // Unique per run: guests of two runs (or a killed earlier one) never collide.
  const runId = randomBytes(3).toString('hex');
  try {
    connected = await connectLab(config);
    // A lab host that resets during the run answers again a minute later: its boot id tells.
    bootId = await labHostBootId(connected.transport);
    // The lease first, then the sweep: a run SIGKILLed earlier (no handler ran) left its
    // guests, folders and processes; this run's own are never swept by another.
    releaseLease = await takeLease(connected.transport, runId, `suite ${suiteName}`);
    const { swept } = await sweepDeadRuns(connected.transport, connected.state.prefix, { keep: runId });
    for (const l of sweptLines(swept)) console.log(`lab: ${l}`);
  } catch (error) {
    // One clear line instead of Mocha's dump of the failing module's source.
    console.error(`lab: ${(error as Error).message.split('\n')[0]}`);
    process.exit(1);
  }
  const cleanup = new CleanupRegistry();
  // Ctrl-C: the running test keeps going until the process exits, so the gate
  // refuses its next commands; the run's remote processes are stopped before
  // anything is released, and a sweep by run id removes what was made meanwhile.
  const gate = new GatedTransport(connected.transport);
  stopSignals = releaseOnSignals(cleanup, {
    around: (fn) => gate.exempt(fn),
    before: async (signal) => {
      gate.shut(`interrupted by ${signal}`);
      for (const p of await stopRunProcesses(gate, runId)) console.error(`lab: stopped ${p}`);
    },
    after: async () => {
      const swept = await sweepRun(gate, runId);
      if (!nothingLeft(swept)) console.error(`lab: swept what cleanup did not know: ${JSON.stringify(swept)}`);
      await releaseLease();
    },
  });
  const guarded: Lab = { state: connected.state, transport: gate, put: connected.put };
  current = { lab: guarded, vms: new VMManager(gate, connected.state, cleanup, runId, config.vmParallel), cleanup, runId, gate, bootId, releaseLease };
  console.log(`lab: ${connected.transport.name}, run ${runId}, test guests ${connected.state.innerAccel.accel}`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (!current) return;
  if (current.gate.shutBecause) {
    // Interrupted: the signal handler is releasing everything over this same
    // connection and exits the process when done; closing it here would cut it off.
    await new Promise(() => {});
  }
  if (gone && !goneButBack) {
    // Every release step would wait for its own timeout on a dead host; its
    // guests go with it at lab-down.
    console.error(`lab: cleanup skipped: ${gone}`);
    stopSignals?.();
    await current.lab.transport.close();
    process.exitCode = 1;
    return;
  }
  // Exempt: a Ctrl-C during this teardown shuts the gate, and these steps must still run.
  const { cleanup, gate } = current;
  const report = await gate.exempt(() => cleanup.releaseAll());
  // Given back only when everything is released: what a failed release left is swept by the next run.
  if (report.failed.length === 0) await gate.exempt(() => current!.releaseLease());
  stopSignals?.();
  await current.lab.transport.close();
  if (report.failed.length > 0) {
    console.error(`lab: cleanup FAILED for ${report.failed.map((f) => `${f.name} (${f.error})`).join(', ')}`);
    process.exitCode = 1;
  }
}

/**
 * Root hook: when a test fails, the lab host's evidence (domain XML, QEMU logs,
 * libvirt log) goes to `<reports>/failures/<test>/`, next to VMSnap's output log.
 */
export const mochaHooks = {
  // A dead lab host fails everything after it at once, with the reason, instead
  // of each test, hook and cleanup step waiting for its own timeout.
  beforeEach(): void {
    if (gone) throw new Error(gone);
    if (current?.gate.shutBecause) throw new Error(current.gate.shutBecause);
  },
  async afterEach(this: Mocha.Context): Promise<void> {
    const test = this.currentTest;
    // Interrupted: the test failed because its commands were stopped, not the lab host.
    if (!current || test?.state !== 'failed' || current.gate.shutBecause) return;
    const dir = path.join(suiteReportDir, 'failures', slug(test.fullTitle()));
    const lost = await labHostGone(current.lab.transport, { bootId: current.bootId });
    if (lost) {
      const trouble = driverFor(current.lab.state.provider).complaints(getLabConfig(), lost.restarted ? 'previous' : 'last');
      goneButBack = lost.restarted;
      gone = `lab host gone after "${test.fullTitle()}": ${lost.why}` + (trouble.length > 0 ? ` | its console: ${trouble.slice(0, 3).join(' | ')}` : '');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'lab-host-console.txt'), `${gone}\n\n${trouble.join('\n')}\n`);
      // For the runner (lib/suites.ts): it replaces the lab host and runs what had not finished again.
      await writeFile(labHostDiedFile(suiteReportDir, suiteName), JSON.stringify({ test: test.fullTitle(), why: lost.why, console: trouble }));
      console.error(`lab: LAB HOST GONE: ${lost.why}`);
      for (const l of trouble) console.error(`lab:   console: ${l}`);
      return;
    }
    const files = await collectFailureEvidence(current.lab.transport, dir, current.vms.vmName(''));
    const err = (test as Mocha.Test & { err?: Error }).err;
    await writeFile(path.join(dir, 'error.txt'), `${test.fullTitle()}\n\n${err?.stack ?? err?.message ?? 'unknown'}\n`);
    console.log(`      evidence: ${files.length} files in ${path.relative(process.cwd(), dir)}`);
  },
};
