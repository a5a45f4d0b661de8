import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, statfs, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { probeAccel, type Accel } from '../accel/accel-probe.js';
import { ensureProbeKit } from '../accel/probe-kit.js';
import { PROJECT_ROOT, type LabConfig } from '../config.js';
import { readManifest } from '../images/images.js';
import { say } from '../log.js';
import { step } from '../progress.js';
import { LocalTransport } from '../transport/local-transport.js';
import { SshTransport, type SshTarget } from '../transport/ssh-transport.js';
import { execOk, type PutFiles, type Transport } from '../transport/transport.js';
import { ensureGuestImage, ensureInnerLibvirt, innerVersions, pinStaticKeys, probeInner } from './inner-setup.js';
import { connectLab, putFilesFor, type Lab } from './lab.js';
import { syncSut } from './sut-sync.js';
import { eventLine, type InfraEvent } from '../report/rerun-merge.js';
import type { Recovery } from '../suites.js';
import { consoleMark, consoleSince, labHostBootId } from './lab-health.js';
import { BOX_CACHE_POOL, prepareBoxCache } from './box-cache.js';
import { boxName, INNER_ROOT, labPaths, outerNames } from './lab-paths.js';
import { readState, writeState, type LabState } from './lab-state.js';
import { auditOuter, ensureNetworkAndPool, removeNetworkAndPool } from './outer-libvirt.js';
import { boxInstalled, machineState, sshConfig, vagrant } from './vagrant.js';

/** A step with its elapsed time (progress while it runs), kept in `timings`. */
async function timed<T>(timings: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const { result, seconds } = await step(`lab: ${name}`, fn);
  timings[name] = seconds;
  return result;
}

/** One clear error for each situation lab-up cannot work in, before any work. */
async function preflight(config: LabConfig, local: Transport): Promise<void> {
  const startLibvirt = await execa('bash', [path.join(PROJECT_ROOT, 'lib/host/start-libvirt.sh')], { reject: false });
  if (startLibvirt.stdout.includes('starting')) say(startLibvirt.stdout.trim());
  if (startLibvirt.exitCode !== 0) throw new Error(`libvirt is not usable on this machine: ${startLibvirt.stderr.trim() || startLibvirt.stdout.trim()} (run \`make deps\`)`);
  const fs = await statfs(config.artifactsDir).catch(() => undefined);
  if (fs && (fs.bavail * fs.bsize) / 2 ** 30 < 5) throw new Error(`less than 5 GiB free for ${config.artifactsDir}: free some disk or set LAB_ARTIFACTS`);
  if (config.provider === 'vagrant') {
    const plugins = await execa('vagrant', ['plugin', 'list'], { reject: false });
    if (plugins.exitCode !== 0) throw new Error('vagrant is not installed: run `make deps`');
    if (!plugins.stdout.includes('vagrant-libvirt')) throw new Error('the vagrant-libvirt plugin is not installed: run `make deps`');
  }
  if (config.provider === 'local') {
    // The local provider runs guests and backups on this machine: it needs what a lab host has.
    const tools = ['virsh', 'qemu-img', 'qemu-system-x86_64', 'virtnbdbackup', 'virtnbdrestore', 'debugfs', 'node'];
    const r = await local.exec(['sh', '-c', 'for t in "$@"; do command -v "$t" >/dev/null || echo "$t"; done', 'sh', ...tools]);
    const missing = r.stdout.trim().split('\n').filter(Boolean);
    if (missing.length > 0) {
      throw new Error(`LAB_PROVIDER=local needs ${missing.join(', ')} on this machine: apt-get install virtnbdbackup qemu-utils e2fsprogs (a disposable machine only)`);
    }
  }
}

/**
 * `make lab-up`: a lab host ready for tests, or an error that says what is wrong.
 * vagrant: probe KVM on this machine, create the lab's network and pool, add the
 * box, `vagrant up`, reach it over SSH (as root, with Vagrant's fresh key), then
 * set up the inside. local: the same inside steps on this machine's libvirt.
 * An up lab is reused; a broken or half-made one is torn down first.
 */
export async function labUp(config: LabConfig, events?: InfraEvent[]): Promise<LabState> {
  const local = new LocalTransport();
  const timings: Record<string, number> = {};
  const started = performance.now();
  await preflight(config, local);
  const manifest = await readManifest(config);
  const paths = labPaths(config);
  await mkdir(paths.dir, { recursive: true });

  const existing = await readState(config);
  if (existing && (await isHealthy(config, existing))) {
    say(`lab: already up (${existing.provider}, since ${existing.createdAt}); reusing it`);
    // A kept lab outlives edits of the VMSnap checkout: test what the checkout is now.
    return refreshSut(config, existing);
  }
  if (existing || (config.provider === 'vagrant' && hasLeftovers(await auditOuter(local, config.prefix)))) {
    say('lab: a previous lab is broken or half made: tearing it down first');
    await labDown(config);
  }

  // The lab host can die while it is being set up (seen in CI: its kernel panicked
  // 79 s after boot, under TCG): that is the infrastructure failing, not the lab's
  // setup, so it is replaced once, reported as an event, never hidden.
  let died: InfraEvent | undefined;
  for (let attempt = 1; ; attempt += 1) {
    const progress: UpProgress = { hostStarted: false, mark: consoleMark(paths.serialLog) };
    const attemptStarted = performance.now();
    try {
      const state = await createLab(config, manifest, timings, started, progress);
      if (died) {
        died.replacedInS = Math.round((performance.now() - attemptStarted) / 100) / 10;
        died.rerun = 'passed';
        say(`lab: INFRASTRUCTURE: ${eventLine(died)}`);
      }
      return state;
    } catch (error) {
      const message = (error as Error).message.split('\n')[0] as string;
      if (died) died.rerun = 'failed';
      const death = await diedDuringUp(config, progress);
      if (!death) throw error;
      died = { suite: 'lab-up', test: `lab-up, attempt ${attempt}`, why: `${death.why}; lab-up stopped at: ${message}`, console: death.console };
      events?.push(died);
      say(`lab: THE LAB HOST DIED during lab-up: ${death.why}`);
      for (const l of death.console) say(`  ${l}`);
      if (attempt >= LAB_UP_ATTEMPTS) {
        throw new Error(`the lab host died ${attempt} times during lab-up (${death.why}; console: ${paths.serialLog}): this machine's emulation is failing it; run \`make lab-up\` again`, { cause: error });
      }
      say(`lab: replacing it: lab-down, then lab-up again (attempt ${attempt + 1} of ${LAB_UP_ATTEMPTS})`);
      await labDown(config);
    }
  }
}

/** How many times lab-up starts a lab host when the one before it died: once more, as a test is re-run once. */
const LAB_UP_ATTEMPTS = 2;

/** How far one lab-up attempt got: whether its lab host was started, and where its console stood before. */
interface UpProgress {
  hostStarted: boolean;
  mark: number;
}

/**
 * Why a failed lab-up attempt failed because its lab host died, or undefined
 * when it did not (a wrong setting or a missing file fails at once, no retry):
 * its kernel complained on the console, it booted more than once, or, once
 * started, libvirt no longer has it running.
 */
async function diedDuringUp(config: LabConfig, progress: UpProgress): Promise<{ why: string; console: string[] } | undefined> {
  if (config.provider !== 'vagrant') return undefined;
  const { trouble, boots } = consoleSince(labPaths(config).serialLog, progress.mark);
  if (trouble.length > 0) return { why: `its kernel complained: ${trouble[0]}`, console: trouble };
  if (boots > 1) return { why: `it restarted during lab-up (${boots} boots on its console)`, console: [] };
  if (progress.hostStarted) {
    const r = await new LocalTransport().exec(['virsh', '-c', 'qemu:///system', 'domstate', outerNames(config).domain]);
    const state = r.stdout.trim();
    if (state !== 'running') return { why: `libvirt has it ${r.exitCode === 0 ? state : 'gone'}`, console: [] };
  }
  return undefined;
}

/** One lab-up attempt from nothing: see labUp. */
async function createLab(config: LabConfig, manifest: Awaited<ReturnType<typeof readManifest>>, timings: Record<string, number>, started: number, progress: UpProgress): Promise<LabState> {
  const local = new LocalTransport();
  const paths = labPaths(config);
  let t: Transport;
  let put: PutFiles;
  let outerAccel: LabState['outerAccel'];
  let ssh: LabState['ssh'];
  let startPath: LabState['startPath'];
  if (config.provider === 'vagrant') {
    const labHost = manifest.labHost;
    if (!labHost) throw new Error('no lab-host box in artifacts/images: run `make images`');
    const kit = await ensureProbeKit(path.join(config.artifactsDir, 'probe'));
    const probe = await timed(timings, 'probe KVM on this machine', () => probeAccel(local, kit, 'kvm', config.kvmProbeTimeoutMs));
    outerAccel = { accel: probe.usable ? 'kvm' : 'tcg', detail: probe.detail };
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
    await writeFile(
      paths.vagrantEnv,
      `${JSON.stringify(
        {
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
        },
        null,
        2,
      )}\n`,
    );
    if (!(await boxInstalled(config, box))) {
      await timed(timings, `vagrant box add ${box}`, async () => {
        const r = await vagrant(config, ['box', 'add', '--force', '--name', box, path.join(labHost.dir, 'lab-host.box')], { stream: true });
        if (r.exitCode !== 0) throw new Error(`vagrant box add failed: ${String(r.stderr).trim().split('\n').pop()}`);
      });
    }
    // Warm when an earlier lab-up left this box's volume in the cache pool: no upload.
    const boxCache = await timed(timings, 'box cache', () => prepareBoxCache(local, config.vagrantHome, box));
    startPath = boxCache.path;
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
    ssh = { ...target, user: 'root', keyFile: paths.sshKey };
    const rootSsh = await new SshTransport(ssh).connect();
    t = rootSsh;
    put = putFilesFor(rootSsh);
  } else {
    t = local;
    put = putFilesFor(local);
  }

  try {
    await timed(timings, 'libvirt inside', () => ensureInnerLibvirt(t));
    // Before any test guest starts: see pinStaticKeys (only the lab host is ours to pin).
    if (config.provider === 'vagrant') say(`lab: static keys in the lab host (KVM, APIC, cpuset): ${await pinStaticKeys(t)}`);
    const imageDir = await timed(timings, 'guest image into the lab host', () => ensureGuestImage(t, put, manifest));
    const inner = await timed(timings, 'probe KVM for test guests', async () => {
      const kvm = await probeInner(t, imageDir, manifest.guest.boot, 'kvm', 90);
      if (kvm.usable) return kvm;
      say(`lab: KVM for test guests not usable (${kvm.detail}); trying TCG`);
      const tcg = await probeInner(t, imageDir, manifest.guest.boot, 'tcg', 300);
      if (!tcg.usable) throw new Error(`a test guest does not boot in the lab host under KVM (${kvm.detail}) nor TCG (${tcg.detail})`);
      return { ...tcg, detail: `${tcg.detail}; KVM: ${kvm.detail}` };
    });
    if (inner.bootMs !== undefined) timings['test guest boot'] = inner.bootMs / 1000;
    say(`lab: test guests run with ${inner.accel === 'kvm' ? "type='kvm'" : "type='qemu' (TCG)"}: ${inner.detail}`);
    const versions = await innerVersions(t);
    const { sut } = await timed(timings, 'install the SUT', () => syncSut(t, put, config, INNER_ROOT));
    if (sut.kind === 'none') say(`lab: no VMSnap installed: ${sut.reason}`);
    timings['lab-up'] = Math.round((performance.now() - started) / 100) / 10;
    const state: LabState = {
      provider: config.provider,
      prefix: config.prefix,
      createdAt: new Date().toISOString(),
      outerAccel,
      innerAccel: { accel: inner.accel as Accel, detail: inner.detail },
      ssh,
      guestImage: { name: manifest.guest.name, hash: manifest.guest.hash, boot: manifest.guest.boot, dir: imageDir, source: manifest.guest.source },
      versions: withSutVersion(versions, sut),
      sut,
      timings,
      ...(startPath ? { startPath } : {}),
    };
    await writeState(config, state);
    say(`lab: up in ${timings['lab-up']}s (${config.provider}${startPath ? `, ${startPath}` : ''}; lab host ${outerAccel?.accel ?? 'n/a'}, test guests ${inner.accel})`);
    return state;
  } finally {
    await t.close();
  }
}

function withSutVersion(versions: Record<string, string>, sut: LabState['sut']): Record<string, string> {
  const rest = Object.fromEntries(Object.entries(versions).filter(([k]) => k !== 'vmsnap'));
  return sut.kind === 'installed' ? { ...rest, vmsnap: `${sut.version} (${sut.commit})` } : rest;
}

/**
 * Brings VMSnap in an up lab in line with the configured source as it is now
 * (see syncSut) and records what is installed in the lab state, which the
 * report takes its VMSnap version from.
 */
export async function refreshSut(config: LabConfig, state: LabState, open?: Pick<Lab, 'transport' | 'put'>): Promise<LabState> {
  if (config.sut.kind === 'none' && state.sut.kind === 'none') return state;
  const lab = open ?? (await connectLab(config));
  try {
    const { sut } = await syncSut(lab.transport, lab.put, config, INNER_ROOT);
    const next: LabState = { ...state, sut, versions: withSutVersion(state.versions, sut) };
    await writeState(config, next);
    return next;
  } finally {
    if (!open) await lab.transport.close();
  }
}

function hasLeftovers(a: { domains: string[]; networks: string[]; pools: string[] }): boolean {
  return a.domains.length + a.networks.length + a.pools.length > 0;
}

/** An up lab that answers: the machine runs and a command goes through. */
export async function isHealthy(config: LabConfig, state: LabState): Promise<boolean> {
  if (state.provider !== config.provider || state.prefix !== config.prefix) return false;
  if (state.provider === 'local') return true;
  if ((await machineState(config)) !== 'running' || !state.ssh) return false;
  const healthy = await overSsh(state.ssh, async (t) => {
    if ((await t.exec(['virsh', '-c', 'qemu:///system', 'version'], { timeout: 20_000 })).exitCode !== 0) return false;
    // A lab host that rebooted lost its KVM pin: put it back before tests start guests.
    await pinStaticKeys(t);
    return true;
  });
  return healthy ?? false;
}

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

/** The boot id of the lab host `make lab-up` left (see labHostBootId), or undefined when it does not answer. */
export async function labBootId(config: LabConfig): Promise<string | undefined> {
  const state = await readState(config);
  if (!state) return undefined;
  if (state.provider === 'local') return labHostBootId(new LocalTransport());
  return state.ssh ? overSsh(state.ssh, (t) => labHostBootId(t, 20_000)) : undefined;
}

/** Whether a lab is up and answers now: commands that bring one up leave such a lab up after them. */
export async function labAnswers(config: LabConfig): Promise<boolean> {
  const state = await readState(config);
  return state ? isHealthy(config, state) : false;
}

/**
 * `make lab-down`: removes everything the lab created on this machine (lab host,
 * its volumes, pool, network, state) and checks that nothing with the lab's
 * prefix is left. Safe to run twice, and on a half-made lab.
 */
export async function labDown(config: LabConfig): Promise<void> {
  const local = new LocalTransport();
  const paths = labPaths(config);
  const names = outerNames(config);
  const state = await readState(config);
  if ((state?.provider ?? config.provider) === 'local') {
    await execa('bash', [path.join(PROJECT_ROOT, 'lib/host/start-libvirt.sh')], { reject: false });
    // The local provider's guests are removed by the tests' own cleanup; here the lab's folders go.
    // The guest image under images/ stays: it is a cache, like artifacts/images.
    await local.exec(['rm', '-rf', `${INNER_ROOT}/guests`, `${INNER_ROOT}/tmp`, `${INNER_ROOT}/backups`, `${INNER_ROOT}/vmsnap`, `${INNER_ROOT}/bin`]);
  } else {
    if (existsSync(paths.vagrantEnv)) {
      const r = await vagrant(config, ['destroy', '-f'], { stream: true, timeout: 600_000 });
      if (r.exitCode !== 0) say(`lab: vagrant destroy failed (${String(r.stderr).trim().split('\n').pop()}); removing the domain directly`);
    }
    // Whatever vagrant did not remove (a killed run, a lost dotfile folder): only our prefix.
    if ((await local.exec(['virsh', '-c', 'qemu:///system', 'dominfo', names.domain])).exitCode === 0) {
      await local.exec(['virsh', '-c', 'qemu:///system', 'destroy', names.domain]);
      await execOk(local, ['virsh', '-c', 'qemu:///system', 'undefine', names.domain, '--remove-all-storage', '--nvram']);
    }
    await removeNetworkAndPool(local, config);
  }
  await rm(paths.state, { force: true });
  await rm(paths.vagrantDotfile, { recursive: true, force: true });
  await rm(paths.sshKey, { force: true });
  const left = await auditOuter(local, config.prefix);
  if (hasLeftovers(left)) throw new Error(`lab-down left libvirt objects behind: ${JSON.stringify(left)}`);
  say('lab: down; nothing with the prefix left on this machine');
}

/**
 * How a run survives a lab host that dies in the middle of a suite (lib/suites.ts):
 * lab-down, then lab-up, up to LAB_MAX_DEATHS times; `events` collects them. The
 * local provider has no lab host to replace.
 */
export function labRecovery(config: LabConfig, events: InfraEvent[] = []): Recovery | undefined {
  if (config.provider !== 'vagrant') return undefined;
  return {
    events,
    max: config.maxDeaths,
    replaceLab: async () => {
      await labDown(config);
      await labUp(config, events);
    },
  };
}
