import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import dayjs from 'dayjs';
import { stats } from '../bench/stats.js';
import { CleanupRegistry } from '../cleanup/cleanup-registry.js';
import { getLabConfig, PROJECT_ROOT, type LabConfig } from '../config.js';
import { connectLab } from '../lab/lab.js';
import { driverFor } from '../lab/drivers/index.js';
import { takeLease } from '../lab/run-lease.js';
import { labHostBootId, labHostGone } from '../lab/lab-health.js';
import { labAnswers, labDown, labUp } from '../lab/lab-up.js';
import { nothingLeft, runLeftovers, type RunLeftovers } from '../lab/run-reaper.js';
import { say } from '../log.js';
import { VMManager } from '../vm/vm-manager.js';
import { positiveInt, runCli, stopAfterCurrent } from './cli-kit.js';

// `make churn MINUTES=40`: rounds of nested test guests, several at a time, each
// created, started, written to (8 MiB, checked by sha256 in the guest) and
// destroyed, until the time is up or something fails. It measures how long a
// lab host lives under the load that killed lab hosts under TCG (see README,
// "Known here"), with nothing else between guest starts; a mitigation is
// compared by running it on both sides.

const program = new Command('churn')
  .description('start, use and destroy test guests in a loop; report whether the lab host survived')
  .option('-m, --minutes <n>', 'how long to churn', positiveInt, Number(process.env.MINUTES ?? 30))
  .option('-g, --guests <n>', 'test guests per round, started together', positiveInt, Number(process.env.GUESTS ?? 3))
  .parse();
const opts = program.opts<{ minutes: number; guests: number }>();

const interrupted = stopAfterCurrent('round');

/** One guest's life: create, start (until its agent answers), write and check data, destroy. */
async function guestLife(vms: VMManager, base: string): Promise<void> {
  const vm = await vms.createTestVM(base);
  await vms.startVM(vm, 240_000);
  const sum = await vm.writeData('/root/churn', 8 * 1024);
  const again = (await vm.sh('sync; echo 3 > /proc/sys/vm/drop_caches; sha256sum /root/churn')).trim().split(/\s+/)[0];
  if (again !== sum) throw new Error(`${vm.name}: data read back differs (${again} != ${sum})`);
}

async function main(config: LabConfig): Promise<void> {
  const wasUp = await labAnswers(config);
  const state = await labUp(config);
  const { transport: t } = await connectLab(config);
  const bootId = await labHostBootId(t);
  // The lab host's own count: a lab reused from an earlier lab-up may have another than LAB_CPUS.
  const labHostCpus = Number((await t.exec(['nproc'])).stdout.trim());
  const runId = randomBytes(3).toString('hex');
  // Its guests carry the run id: the lease keeps a suite's sweep off them.
  const releaseLease = await takeLease(t, runId, 'churn');
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const elapsedS = () => Math.round((performance.now() - started) / 100) / 10;
  const roundSeconds: number[] = [];
  let failure: string | undefined;
  let labHostDied: string[] | undefined;
  let unreachable = false;
  say(`churn: ${opts.guests} test guests per round for ${opts.minutes} min (lab host ${labHostCpus} vCPU, test guests ${state.innerAccel.accel}, run ${runId})`);
  for (let round = 1; elapsedS() < opts.minutes * 60 && !interrupted(); round++) {
    const roundStarted = performance.now();
    // A registry per round: its guests are destroyed at the round's end, not all at the run's.
    const cleanup = new CleanupRegistry();
    const vms = new VMManager(t, state, cleanup, runId, opts.guests);
    const lives = await Promise.allSettled(Array.from({ length: opts.guests }, (_, i) => guestLife(vms, `c${round}-${i}`)));
    const failed = lives.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (failed) {
      failure = `round ${round}: ${(failed.reason as Error).message.split('\n')[0]}`;
      const lost = await labHostGone(t, { bootId });
      if (lost) {
        labHostDied = [lost.why, ...driverFor(config.provider).complaints(config, lost.restarted ? 'previous' : 'last')];
        // Every release would wait for its own timeout on a dead host: its guests go at lab-down.
        // A restarted one answers, and its guests are still defined: they are released below.
        unreachable = !lost.restarted;
        if (unreachable) break;
      }
    }
    const released = await cleanup.releaseAll();
    if (released.failed.length > 0) failure ??= `round ${round}: cleanup failed: ${released.failed.map((f) => `${f.name}: ${f.error}`).join('; ')}`;
    if (failure) break;
    roundSeconds.push(Math.round((performance.now() - roundStarted) / 100) / 10);
    say(`churn: round ${round} (${opts.guests} guests) in ${roundSeconds.at(-1)}s, ${Math.round(elapsedS() / 60)} min so far`);
  }

  const leftovers: RunLeftovers | undefined = unreachable ? undefined : await runLeftovers(t, runId);
  if (leftovers && nothingLeft(leftovers)) await releaseLease();
  await t.close();
  const out = {
    startedAt,
    minutes: opts.minutes,
    guestsPerRound: opts.guests,
    rounds: roundSeconds.length,
    guestLives: roundSeconds.length * opts.guests,
    seconds: elapsedS(),
    roundSeconds: roundSeconds.length > 0 ? stats(roundSeconds) : undefined,
    labHostCpus,
    outerAccel: state.outerAccel,
    innerAccel: state.innerAccel,
    versions: state.versions,
    ...(failure ? { failure } : {}),
    ...(labHostDied ? { labHostDied } : {}),
    ...(leftovers ? { leftovers } : {}),
    ...(interrupted() ? { interrupted: interrupted() } : {}),
  };
  const dir = path.join(PROJECT_ROOT, 'artifacts/churn');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${dayjs().format('YYYYMMDD-HHmmss')}.json`);
  await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
  if (!wasUp && !config.keep) await labDown(config);

  const lived = `${out.guestLives} test guests in ${out.rounds} rounds over ${(out.seconds / 60).toFixed(1)} min`;
  if (labHostDied) say(`churn: THE LAB HOST DIED after ${lived}: ${labHostDied.slice(0, 4).join(' | ')}`);
  else if (failure) say(`churn: FAILED after ${lived}: ${failure}`);
  const left = leftovers ? (nothingLeft(leftovers) ? 'nothing of the run left' : `LEFT: ${JSON.stringify(leftovers)}`) : 'leftovers not audited (the lab host does not answer)';
  console.log(`churn: ${lived}, lab host ${labHostDied ? 'DIED' : 'alive'}, ${left}; ${path.relative(process.cwd(), file)}`);
  if (failure || (leftovers && !nothingLeft(leftovers))) process.exitCode = 1;
  else if (interrupted()) process.exitCode = 130;
}

await runCli('churn', () => main(getLabConfig()));
