import { existsSync } from 'node:fs';
import { chmod, copyFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { probeAccel } from '../../accel/accel-probe.js';
import { ensureProbeKit } from '../../accel/probe-kit.js';
import { say } from '../../log.js';
import { timed } from '../../progress.js';
import { LocalTransport } from '../../transport/local-transport.js';
import { SshTransport, type SshTarget } from '../../transport/ssh-transport.js';
import { execOk, VIRSH_URI as URI, type Transport } from '../../transport/transport.js';
import { BOX_CACHE_POOL, prepareBoxCache } from '../box-cache.js';
import { pinStaticKeys } from '../inner-setup.js';
import { consoleSince, labHostBootId, serialConsoleTrouble } from '../lab-health.js';
import { boxName, labPaths, outerNames } from '../lab-paths.js';
import type { LabState } from '../lab-state.js';
import { putFilesFor } from '../../transport/put-files.js';
import { auditOuter, ensureNetworkAndPool, removeNetworkAndPool } from '../outer-libvirt.js';
import { boxInstalled, machineState, sshConfig, vagrant } from '../vagrant.js';
import {
  changedInputs,
  codeDigest,
  readSavedHost,
  removeSavedHost,
  repinRestored,
  restoreHost,
  saveHost,
  savedHostKey,
  savedHostPaths,
  type SavedHostInputs,
} from '../saved-host.js';
import { done, notYet, pollUntil } from '../../poll.js';
import type { LabConfig } from '../../config.js';
import { PreflightError, type CreatedHost, type CreateProgress, type LabDriver } from './driver.js';

/** Runs `fn` over a new, short-lived SSH connection to the lab host; undefined when it cannot connect or `fn` fails. */
async function overSsh<T>(ssh: SshTarget, fn: (t: Transport) => Promise<T>): Promise<T | undefined> {
  const t = new SshTransport(ssh);
  try {
    await t.connect({ attempts: 2, readyTimeoutMs: 10_000 });
    return await fn(t);
  } catch {
    return undefined;
  } finally {
    await t.close();
  }
}

/**
 * The lab host from its saved state (../saved-host.ts) when there is one for this
 * very lab host (same box, guest image, settings and setup code): undefined when
 * there is none or it is for another (then it is removed), 'failed' when the
 * restore did not give a lab host that answers (then it is torn down and removed,
 * and create starts over from the box).
 */
async function restoreSaved(
  config: LabConfig,
  inputs: SavedHostInputs,
  cidr: string,
  outerAccel: NonNullable<LabState['outerAccel']>,
  timings: Record<string, number>,
  progress: CreateProgress,
): Promise<CreatedHost | 'failed' | undefined> {
  if (!config.hostState) return undefined;
  const meta = await readSavedHost(config);
  if (!meta) {
    await removeSavedHost(config, 'a save that did not finish');
    return undefined;
  }
  const changed = changedInputs(meta.inputs, inputs);
  if (changed.length > 0 || meta.key !== savedHostKey(inputs)) {
    await removeSavedHost(config, `it is another lab host's: ${changed.join(', ') || 'its key'} changed since`);
    return undefined;
  }
  if (meta.cidr !== cidr) {
    say(`lab: not restoring the saved lab host: its address is in ${meta.cidr}, the lab network is ${cidr} now (another network took it)`);
    return undefined;
  }
  say(`lab: lab-up path: restored (a saved lab-host state of ${meta.savedAt}, taken before any test guest ran)`);
  const ssh = { host: meta.ssh.host, port: meta.ssh.port, user: 'root', keyFile: labPaths(config).sshKey };
  try {
    const t = await timed(timings, 'restore the lab host', async () => {
      await restoreHost(config, meta);
      progress.hostStarted = true;
      const c = await new SshTransport(ssh).connect();
      try {
        await repinRestored(c);
        await leased(config, ssh.host);
        return c;
      } catch (error) {
        await c.close();
        throw error;
      }
    });
    return { transport: t, put: putFilesFor(t), state: { outerAccel, ssh, startPath: 'restored' } };
  } catch (error) {
    say(`lab: the restored lab host is not usable (${(error as Error).message.split('\n')[0]}): removing it and its saved state, and booting the box`);
    await vagrantDriver.destroy(config);
    await rm(labPaths(config).vagrantDotfile, { recursive: true, force: true });
    await removeSavedHost(config, 'it did not restore');
    progress.hostStarted = false;
    return 'failed';
  }
}

/** Waits for the lab network to lease `host` again: vagrant (status, destroy) finds the lab host by its lease. */
async function leased(config: LabConfig, host: string): Promise<void> {
  const net = outerNames(config).network;
  await pollUntil(
    `a DHCP lease for ${host} in ${net}`,
    async () => {
      const leases = (await new LocalTransport().exec(['virsh', ...URI, 'net-dhcp-leases', net])).stdout;
      return leases.includes(`${host}/`) ? done(true) : notYet(leases.trim().split('\n').pop() ?? '');
    },
    { timeoutMs: 20_000, intervalMs: 500 },
  );
}

/**
 * The lab host is a vagrant-libvirt VM on this machine's libvirt (the Vagrantfile),
 * KVM where the probe found it works and TCG where not, reached over SSH as root.
 */
export const vagrantDriver: LabDriver = {
  name: 'vagrant',
  hasLabHost: true,

  async preflight() {
    const [version, plugins] = await Promise.all([execa('vagrant', ['--version'], { reject: false }), execa('vagrant', ['plugin', 'list'], { reject: false })]);
    if (version.exitCode !== 0) throw new PreflightError('vagrant is not installed', 'run `make deps` (installs Debian\'s vagrant)');
    const plugin = plugins.stdout.split('\n').find((l) => l.startsWith('vagrant-libvirt'));
    if (plugins.exitCode !== 0 || !plugin) throw new PreflightError('the vagrant-libvirt plugin is not installed', 'run `make deps` (installs Debian\'s vagrant-libvirt)');
    return `${version.stdout.trim()}, ${plugin.trim()}`;
  },

  complaints: (config, boot = 'last') => serialConsoleTrouble(labPaths(config).serialLog, 20, boot),

  /**
   * Probes KVM on this machine, creates the lab's network and pool, adds the box,
   * readies the box cache, `vagrant up`, and gives root the key Vagrant generated.
   */
  async create(config, manifest, timings, progress) {
    const local = new LocalTransport();
    const paths = labPaths(config);
    const labHost = manifest.labHost;
    if (!labHost) throw new Error('no lab-host box in artifacts/images: run `make images`');
    const kit = await ensureProbeKit(path.join(config.artifactsDir, 'probe'));
    const probe = await timed(timings, 'probe KVM on this machine', () => probeAccel(local, kit, 'kvm', config.kvmProbeTimeoutMs));
    const outerAccel: NonNullable<LabState['outerAccel']> = { accel: probe.usable ? 'kvm' : 'tcg', detail: probe.detail };
    say(`lab: lab host acceleration: ${outerAccel.accel} (${probe.usable ? 'KVM really runs a guest' : `KVM not usable: ${probe.detail}`})`);
    const cidr = await timed(timings, 'create network and pool', () => ensureNetworkAndPool(local, config));
    const box = boxName(labHost);
    // Kernel and initrd for direct boot must be readable by libvirt's qemu user, so
    // they are copied into the pool folder (removed with the pool by lab-down).
    const kernel = path.join(paths.poolDir, `${labHost.name}-${labHost.hash}.vmlinuz`);
    const initrd = path.join(paths.poolDir, `${labHost.name}-${labHost.hash}.initrd.img`);
    await copyFile(path.join(labHost.dir, 'vmlinuz'), kernel);
    await copyFile(path.join(labHost.dir, 'initrd.img'), initrd);
    for (const f of [kernel, initrd]) await chmod(f, 0o644);
    const env = {
      box,
      prefix: config.prefix,
      memoryMiB: config.memoryMiB,
      cpus: config.cpus,
      accel: outerAccel.accel,
      kernel,
      initrd,
      serialLog: paths.serialLog,
      pool: outerNames(config).pool,
      boxPool: BOX_CACHE_POOL,
      network: outerNames(config).network,
      networkCidr: cidr,
    };
    await writeFile(paths.vagrantEnv, `${JSON.stringify(env, null, 2)}\n`);
    if (!(await boxInstalled(config, box))) {
      await timed(timings, `vagrant box add ${box}`, async () => {
        const r = await vagrant(config, ['box', 'add', '--force', '--name', box, path.join(labHost.dir, 'lab-host.box')], { stream: true });
        if (r.exitCode !== 0) throw new Error(`vagrant box add failed: ${String(r.stderr).trim().split('\n').pop()}`);
      });
    }
    // Warm when an earlier lab-up left this box's volume in the cache pool: no upload.
    const boxCache = await timed(timings, 'box cache', () => prepareBoxCache(local, config.vagrantHome, box));
    const inputs: SavedHostInputs = {
      boxVolume: boxCache.volume,
      guestImage: `${manifest.guest.name}-${manifest.guest.hash}`,
      memoryMiB: config.memoryMiB,
      cpus: config.cpus,
      accel: outerAccel.accel,
      labDir: paths.dir,
      code: await codeDigest(),
    };
    if (boxCache.path === 'warm') {
      const restored = await restoreSaved(config, inputs, cidr, outerAccel, timings, progress);
      if (restored === 'failed') return vagrantDriver.create(config, manifest, timings, progress);
      if (restored) return restored;
    }
    say(`lab: lab-up path: ${boxCache.path} (${boxCache.path === 'warm' ? 'the box is in the cache pool already' : 'vagrant up uploads the box into the cache pool first'}: ${boxCache.volume})`);
    await timed(timings, 'vagrant up', async () => {
      const r = await vagrant(config, ['up', '--provider', 'libvirt', '--no-provision'], { stream: true, timeout: 1_800_000 });
      progress.hostStarted = true;
      if (r.exitCode !== 0) throw new Error(`vagrant up failed: ${String(r.stderr).trim().split('\n').slice(-3).join(' ')} (serial console: ${paths.serialLog})`);
    });
    const target = await sshConfig(config);
    // Tests run as root in the lab host (libvirt, /var/lib/vmsnap-lab, VMSnap as the
    // plan runs it); root gets the key Vagrant just generated for the vagrant user.
    const asVagrant = await new SshTransport(target).connect();
    await execOk(asVagrant, 'sudo install -d -m 700 /root/.ssh && sudo install -m 600 ~/.ssh/authorized_keys /root/.ssh/authorized_keys');
    await asVagrant.close();
    await copyFile(target.keyFile, paths.sshKey);
    await chmod(paths.sshKey, 0o600);
    const ssh = { ...target, user: 'root', keyFile: paths.sshKey };
    const rootSsh = await new SshTransport(ssh).connect();
    const saveState = async () => {
      try {
        await timed(timings, 'save the lab-host state', () => saveHost(config, rootSsh, inputs, { host: ssh.host, port: ssh.port }, cidr));
        say(`lab: saved the lab host's state for later lab-ups (${savedHostPaths(config).dir}; make clean-cache removes it)`);
      } catch (error) {
        // Only later lab-ups lose by it: they boot the box, as without a saved state.
        say(`lab: saving the lab host's state failed (${(error as Error).message.split('\n')[0]}); later lab-ups boot the box`);
        await removeSavedHost(config, 'the save did not finish');
      }
    };
    return { transport: rootSsh, put: putFilesFor(rootSsh), state: { outerAccel, ssh, startPath: boxCache.path }, ...(config.hostState ? { saveState } : {}) };
  },

  async connect(state) {
    if (!state.ssh) throw new Error('the lab state has no SSH target: run `make lab-down && make lab-up`');
    const ssh = new SshTransport(state.ssh);
    try {
      await ssh.connect({ attempts: 3 });
    } catch (error) {
      throw new Error(`the lab host does not answer (${(error as Error).message.split('\n')[0]}): run \`make lab-down && make lab-up\``, { cause: error });
    }
    return { transport: ssh, put: putFilesFor(ssh) };
  },

  /** Running as vagrant sees it, and answers `virsh version` over SSH. */
  async healthy(config, state) {
    if ((await machineState(config)) !== 'running' || !state.ssh) return false;
    const ok = await overSsh(state.ssh, async (t) => {
      if ((await t.exec(['virsh', '-c', 'qemu:///system', 'version'], { timeout: 20_000 })).exitCode !== 0) return false;
      // A lab host that rebooted lost its KVM pin: put it back before tests start guests.
      await pinStaticKeys(t);
      return true;
    });
    return ok ?? false;
  },

  /** `vagrant destroy`, then whatever it did not remove (a killed run, a lost dotfile folder): only the prefix's. */
  async destroy(config) {
    const local = new LocalTransport();
    const paths = labPaths(config);
    const names = outerNames(config);
    if (existsSync(paths.vagrantEnv)) {
      const r = await vagrant(config, ['destroy', '-f'], { stream: true, timeout: 600_000 });
      if (r.exitCode !== 0) say(`lab: vagrant destroy failed (${String(r.stderr).trim().split('\n').pop()}); removing the domain directly`);
    }
    if ((await local.exec(['virsh', '-c', 'qemu:///system', 'dominfo', names.domain])).exitCode === 0) {
      await local.exec(['virsh', '-c', 'qemu:///system', 'destroy', names.domain]);
      await execOk(local, ['virsh', '-c', 'qemu:///system', 'undefine', names.domain, '--remove-all-storage', '--nvram']);
    }
    await removeNetworkAndPool(local, config);
  },

  leftovers: (config) => auditOuter(new LocalTransport(), config.prefix),

  /**
   * Its kernel complained on the console after the attempt began, it booted more
   * than once, or, once started, libvirt no longer has it running. A wrong setting
   * or a missing file is none of these: it fails at once, with no retry.
   */
  async diedDuringCreate(config, progress) {
    const { trouble, boots } = consoleSince(labPaths(config).serialLog);
    if (trouble.length > 0) return { why: `its kernel complained: ${trouble[0]}`, console: trouble };
    if (boots > 1) return { why: `it restarted during lab-up (${boots} boots on its console)`, console: [] };
    if (progress.hostStarted) {
      const r = await new LocalTransport().exec(['virsh', '-c', 'qemu:///system', 'domstate', outerNames(config).domain]);
      const state = r.stdout.trim();
      if (state !== 'running') return { why: `libvirt has it ${r.exitCode === 0 ? state : 'gone'}`, console: [] };
    }
    return undefined;
  },

  bootId: async (state) => (state.ssh ? overSsh(state.ssh, (t) => labHostBootId(t, 20_000)) : undefined),
};
