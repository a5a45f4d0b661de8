import { Command } from 'commander';
import { execa } from 'execa';
import { ConfigError, getLabConfig, type LabConfig } from '../config.js';
import { labDown, labUp, isHealthy } from '../lab/lab-up.js';
import { driverFor } from '../lab/drivers/index.js';
import { readState } from '../lab/lab-state.js';
import { BOX_CACHE_POOL, filesInUse, removeBoxCache } from '../lab/box-cache.js';
import { HOST_STATE_ROOT, removeAllSavedHosts } from '../lab/saved-host.js';
import { auditOuter } from '../lab/outer-libvirt.js';
import { LocalTransport } from '../transport/local-transport.js';
import { machineImagesDir } from '../images/images.js';
import { rm } from 'node:fs/promises';

/** Runs one lab command; any failure is one line on stderr and exit 1. */
async function run(name: string, fn: (config: LabConfig) => Promise<void>): Promise<void> {
  try {
    await fn(getLabConfig());
  } catch (error) {
    const lines = error instanceof ConfigError ? error.problems : [(error as Error).message.split('\n')[0] as string];
    for (const line of lines) console.error(`${name}: ${line}`);
    process.exitCode = 1;
  }
}

const program = new Command('lab').description('The lab host: up, down, status, ssh');

program.command('up').description('bring the lab host up (reuses a healthy one)').action(() =>
  run('lab-up', async (config) => {
    await labUp(config);
  }),
);

program.command('down').description('remove the lab host and everything the lab created').action(() =>
  run('lab-down', async (config) => {
    await labDown(config);
  }),
);

program.command('clean-cache').description(`remove what lab-down keeps: the box cache pool (${BOX_CACHE_POOL}), the saved lab-host states and this machine's image cache`).action(() =>
  run('clean-cache', async (config) => {
    const local = new LocalTransport();
    const states = await removeAllSavedHosts(await filesInUse(local));
    console.log(`clean-cache: ${states.length > 0 ? `removed the saved lab-host states of ${states.join(', ')} (${HOST_STATE_ROOT})` : 'no saved lab-host state'}`);
    const removed = await removeBoxCache(local);
    console.log(`clean-cache: ${removed.length > 0 ? `removed ${BOX_CACHE_POOL} with ${removed.join(', ')}` : `no ${BOX_CACHE_POOL} volumes`}`);
    // Each checkout keeps its own artifacts/images; only the copy other checkouts share goes.
    const images = machineImagesDir(config);
    await rm(images, { recursive: true, force: true });
    console.log(`clean-cache: removed this machine's image cache (${images}); each checkout's artifacts/images stays`);
  }),
);

program.command('status').description('show the lab state and whether it answers').action(() =>
  run('lab-status', async (config) => {
    const state = await readState(config);
    const left = await auditOuter(new LocalTransport(), config.prefix).catch(() => undefined);
    if (!state) {
      console.log(`lab: not up (prefix ${config.prefix})`);
      if (left && left.domains.length + left.networks.length + left.pools.length > 0) {
        console.log(`lab: leftovers with the prefix: ${JSON.stringify(left)}; run \`make lab-down\``);
      }
      return;
    }
    const healthy = await isHealthy(config, state);
    console.log(JSON.stringify({ healthy, ...state, ssh: state.ssh && { ...state.ssh } }, null, 2));
    if (!healthy) {
      console.error('lab-status: the lab host does not answer: run `make lab-down && make lab-up`');
      process.exitCode = 1;
    }
  }),
);

program.command('ssh').description('an interactive shell in the lab host, as root').action(() =>
  run('lab-ssh', async (config) => {
    const state = await readState(config);
    if (!state) throw new Error('the lab is not up: run `make lab-up`');
    if (!driverFor(state.provider).hasLabHost) throw new Error(`the ${state.provider} provider has no lab host: this machine is the lab`);
    if (!state.ssh) throw new Error('the lab state has no SSH address: run `make lab-down && make lab-up`');
    const { host, port, user, keyFile } = state.ssh;
    const r = await execa('ssh', ['-i', keyFile, '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `${user}@${host}`], { stdio: 'inherit', reject: false });
    process.exitCode = r.exitCode ?? 1;
  }),
);

await program.parseAsync();
