import { getLabConfig, type LabConfig } from '../config.js';
import { connectLab } from '../lab/lab.js';
import { sweepDeadRuns, sweptLines } from '../lab/run-lease.js';
import { say } from '../log.js';
import { runCli } from './cli-kit.js';

// `make sweep`: removes from the lab host what runs whose owner is gone left
// there (a run killed with SIGKILL runs no cleanup), as every suite run does
// when it starts. Runs that are alive are listed and left alone.
async function main(config: LabConfig): Promise<void> {
  const lab = await connectLab(config);
  try {
    const { swept, alive } = await sweepDeadRuns(lab.transport, lab.state.prefix);
    for (const l of sweptLines(swept)) say(`sweep: ${l}`);
    for (const l of alive) say(`sweep: left alone: run ${l.runId} (${l.what}, pid ${l.pid}, since ${l.startedAt}) is alive`);
    console.log(`sweep: ${swept.length} dead run(s) swept, ${alive.length} alive`);
  } finally {
    await lab.transport.close();
  }
}

await runCli('sweep', () => main(getLabConfig()));
