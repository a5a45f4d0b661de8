import { mkdir, rm, statfs } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Accel } from '../accel/accel-probe.js';
import { PROJECT_ROOT, type LabConfig } from '../config.js';
import { readManifest } from '../images/images.js';
import { say } from '../log.js';
import { timed } from '../progress.js';
import { driverFor, type CreatedHost, type CreateProgress, type LabDriver, type Manifest } from './drivers/index.js';
import { ensureGuestImage, ensureInnerLibvirt, innerVersions, pinStaticKeys, probeInner } from './inner-setup.js';
import { connectLab, type Lab } from './lab.js';
import { syncSut } from './sut-sync.js';
import { eventLine, type InfraEvent } from '../report/rerun-merge.js';
import type { Recovery } from '../suites.js';
import { setConsoleAside } from './lab-health.js';
import { INNER_ROOT, labPaths } from './lab-paths.js';
import { readState, writeState, type LabState } from './lab-state.js';

/** One clear error for each situation lab-up cannot work in, before any work: this machine's, then the provider's. */
async function preflight(config: LabConfig, driver: LabDriver): Promise<void> {
  const startLibvirt = await execa('bash', [path.join(PROJECT_ROOT, 'lib/host/start-libvirt.sh')], { reject: false });
  if (startLibvirt.stdout.includes('starting')) say(startLibvirt.stdout.trim());
  if (startLibvirt.exitCode !== 0) throw new Error(`libvirt is not usable on this machine: ${startLibvirt.stderr.trim() || startLibvirt.stdout.trim()} (run \`make deps\`)`);
  const fs = await statfs(config.artifactsDir).catch(() => undefined);
  if (fs && (fs.bavail * fs.bsize) / 2 ** 30 < 5) throw new Error(`less than 5 GiB free for ${config.artifactsDir}: free some disk or set LAB_ARTIFACTS`);
  await driver.preflight(config);
}

/**
 * `make lab-up`: a lab host ready for tests, or an error that says what is wrong.
 * vagrant: probe KVM on this machine, create the lab's network and pool, add the
 * box, `vagrant up`, reach it over SSH (as root, with Vagrant's fresh key), then
 * set up the inside. local: the same inside steps on this machine's libvirt.
 * An up lab is reused; a broken or half-made one is torn down first.
 */
export async function labUp(config: LabConfig, events?: InfraEvent[]): Promise<LabState> {
  const driver = driverFor(config.provider);
  const timings: Record<string, number> = {};
  const started = performance.now();
  await preflight(config, driver);
  const manifest = await readManifest(config);
  const paths = labPaths(config);
  await mkdir(paths.dir, { recursive: true });

  const existing = await readState(config);
  if (existing && (await isHealthy(config, existing))) {
    say(`lab: already up (${existing.provider}, since ${existing.createdAt}); reusing it`);
    // A kept lab outlives edits of the VMSnap checkout and rebuilt images: test what they are now.
    return refreshSut(config, await refreshGuestImage(config, existing, manifest));
  }
  // A lab host's leftovers mean a half-made lab; the local provider's are its runs' test guests, not lab-up's to judge.
  if (existing || (driver.hasLabHost && hasLeftovers(await driver.leftovers(config)))) {
    say('lab: a previous lab is broken or half made: tearing it down first');
    await labDown(config);
  }

  // The lab host can die while it is being set up (seen in CI: its kernel panicked
  // 79 s after boot, under TCG): that is the infrastructure failing, not the lab's
  // setup, so it is replaced once, reported as an event, never hidden.
  let died: InfraEvent | undefined;
  for (let attempt = 1; ; attempt += 1) {
    setConsoleAside(paths.serialLog);
    const progress: CreateProgress = { hostStarted: false };
    const attemptStarted = performance.now();
    try {
      const state = await createLab(config, driver, manifest, timings, started, progress);
      if (died) {
        died.replacedInS = Math.round((performance.now() - attemptStarted) / 100) / 10;
        died.rerun = 'passed';
        say(`lab: INFRASTRUCTURE: ${eventLine(died)}`);
      }
      return state;
    } catch (error) {
      const message = (error as Error).message.split('\n')[0] as string;
      if (died) died.rerun = 'failed';
      const death = await driver.diedDuringCreate(config, progress);
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

/**
 * One lab-up attempt from nothing: the provider makes the lab host and connects
 * (see ./drivers), then the inside setup every provider shares converges it.
 */
async function createLab(config: LabConfig, driver: LabDriver, manifest: Manifest, timings: Record<string, number>, started: number, progress: CreateProgress): Promise<LabState> {
  const host = await driver.create(config, manifest, timings, progress);
  try {
    const state = await converge(config, driver, host, manifest, timings);
    timings['lab-up'] = Math.round((performance.now() - started) / 100) / 10;
    const full: LabState = { ...state, ...host.state, timings };
    await writeState(config, full);
    const { startPath, outerAccel } = host.state;
    say(`lab: up in ${timings['lab-up']}s (${config.provider}${startPath ? `, ${startPath}` : ''}; lab host ${outerAccel?.accel ?? 'n/a'}, test guests ${state.innerAccel.accel})`);
    return full;
  } finally {
    await host.transport.close();
  }
}

/**
 * The inside of the lab, the same for every provider: libvirt running, the static
 * keys pinned (a lab host only: this machine is not ours to pin), the guest image,
 * KVM probed for test guests (TCG where it does not work), VMSnap installed.
 */
async function converge(config: LabConfig, driver: LabDriver, host: CreatedHost, manifest: Manifest, timings: Record<string, number>): Promise<Omit<LabState, 'timings'>> {
  const { transport: t, put } = host;
  await timed(timings, 'libvirt inside', () => ensureInnerLibvirt(t));
  // Before any test guest starts: see pinStaticKeys.
  if (driver.hasLabHost) say(`lab: static keys in the lab host (KVM, APIC, cpuset): ${await pinStaticKeys(t)}`);
  const imageDir = await timed(timings, 'guest image into the lab host', () => ensureGuestImage(t, put, manifest));
  // Set up, and no test guest has run in it yet: what a restored lab host starts from.
  if (host.saveState) await host.saveState();
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
  return {
    provider: config.provider,
    prefix: config.prefix,
    createdAt: new Date().toISOString(),
    innerAccel: { accel: inner.accel as Accel, detail: inner.detail },
    guestImage: { name: manifest.guest.name, hash: manifest.guest.hash, boot: manifest.guest.boot, dir: imageDir, source: manifest.guest.source },
    versions: withSutVersion(versions, sut),
    sut,
  };
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

/**
 * A kept lab whose guest image was rebuilt since (`make images` after a change
 * under packer/) gets the new one beside the old, so new test guests boot what
 * `make images` built. The old stays: guests of a run still going may be backed by it.
 */
export async function refreshGuestImage(config: LabConfig, state: LabState, manifest: Manifest): Promise<LabState> {
  const g = manifest.guest;
  if (state.guestImage.hash === g.hash && state.guestImage.name === g.name) return state;
  const lab = await connectLab(config);
  try {
    say(`lab: the guest image changed since lab-up (${state.guestImage.name}-${state.guestImage.hash} -> ${g.name}-${g.hash})`);
    const dir = await ensureGuestImage(lab.transport, lab.put, manifest);
    const next: LabState = { ...state, guestImage: { name: g.name, hash: g.hash, boot: g.boot, dir, source: g.source } };
    await writeState(config, next);
    return next;
  } finally {
    await lab.transport.close();
  }
}

function hasLeftovers(a: { domains: string[]; networks: string[]; pools: string[] }): boolean {
  return a.domains.length + a.networks.length + a.pools.length > 0;
}

/** An up lab that answers: the machine runs and a command goes through. */
export async function isHealthy(config: LabConfig, state: LabState): Promise<boolean> {
  if (state.provider !== config.provider || state.prefix !== config.prefix) return false;
  return driverFor(state.provider).healthy(config, state);
}

/** The boot id of the lab host `make lab-up` left (see labHostBootId), or undefined when it does not answer. */
export async function labBootId(config: LabConfig): Promise<string | undefined> {
  const state = await readState(config);
  return state ? driverFor(state.provider).bootId(state) : undefined;
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
  const paths = labPaths(config);
  const state = await readState(config);
  // The provider that made the lab takes it down, whatever LAB_PROVIDER says now.
  const driver = driverFor(state?.provider ?? config.provider);
  if (!driver.hasLabHost) await execa('bash', [path.join(PROJECT_ROOT, 'lib/host/start-libvirt.sh')], { reject: false });
  await driver.destroy(config);
  await rm(paths.state, { force: true });
  await rm(paths.vagrantDotfile, { recursive: true, force: true });
  await rm(paths.sshKey, { force: true });
  const left = await driver.leftovers(config);
  if (hasLeftovers(left)) throw new Error(`lab-down left libvirt objects behind: ${JSON.stringify(left)}`);
  say('lab: down; nothing with the prefix left on this machine');
}

/**
 * How a run survives a lab host that dies in the middle of a suite (lib/suites.ts):
 * lab-down, then lab-up, up to LAB_MAX_DEATHS times; `events` collects them. The
 * local provider has no lab host to replace.
 */
export function labRecovery(config: LabConfig, events: InfraEvent[] = []): Recovery | undefined {
  if (!driverFor(config.provider).hasLabHost) return undefined;
  return {
    events,
    max: config.maxDeaths,
    replaceLab: async () => {
      await labDown(config);
      await labUp(config, events);
    },
  };
}
