import { readFileSync } from 'node:fs';
import { readdir, rename, rm, stat, writeFile, readFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT, type LabConfig } from '../config.js';
import { findDebianMirror } from '../host/debian-mirror.js';
import { findVagrantInsecurePubKey } from '../host/vagrant-key.js';
import { say } from '../log.js';
import { step } from '../progress.js';
import { decide, finishBuild, isComplete, readInfo, startBuild, storeInMachineCache, takeFromMachineCache, type CacheDecision } from './artifact-cache.js';
import { inputFiles, inputHash, type ImageSpec } from './image-spec.js';

export type GuestSource = 'alpine' | 'debian';

/** What info.json holds for each finished artifact, and the manifest repeats. */
export interface ArtifactInfo {
  name: string;
  hash: string;
  params: Record<string, string>;
  inputs: string[];
  /** Files in the artifact folder, by role, and their sizes in bytes. */
  files: Record<string, { file: string; bytes: number }>;
  /** How the image boots: its own disk (Alpine), or kernel + initrd beside it. */
  boot: 'disk' | 'kernel';
  versions: Record<string, string>;
  builtAt: string;
  buildSeconds: number;
}

export interface ImagesManifest {
  updatedAt: string;
  guest: ArtifactInfo & { source: GuestSource; reason: string; dir: string };
  /** Absent when only the guest was built (the local provider needs no lab host). */
  labHost?: ArtifactInfo & { dir: string };
  packerVersion: string;
}

export const ALPINE_VERSION = '3.21.3';
const ALPINE_ISO = `https://dl-cdn.alpinelinux.org/alpine/v3.21/releases/x86_64/alpine-virt-${ALPINE_VERSION}-x86_64.iso`;

export function imagesDir(config: LabConfig): string {
  return path.join(config.artifactsDir, 'images');
}

/** The machine-wide image cache every checkout on this machine shares (see takeFromMachineCache). */
export function machineImagesDir(config: LabConfig): string {
  return path.join(config.cacheDir, 'images');
}

export function guestSpec(source: GuestSource, suite: string): ImageSpec {
  return source === 'alpine'
    ? { name: 'guest-alpine', inputs: ['packer/guest-alpine'], params: { alpine: ALPINE_VERSION } }
    : { name: 'guest-debian', inputs: ['packer/guest-debian'], params: { suite } };
}

export function labHostSpec(suite: string, vagrantPubKey: string): ImageSpec {
  return {
    name: `lab-host-${suite}`,
    inputs: ['packer/lab-host'],
    // The key the box authorises shapes the box, so it is part of the hash.
    params: { suite, vagrantPubKey: readFileSync(vagrantPubKey, 'utf8').trim() },
  };
}

const GUEST_FILES: Record<GuestSource, string[]> = {
  alpine: ['disk.qcow2'],
  debian: ['disk.qcow2', 'vmlinuz', 'initrd.img'],
};
const LAB_HOST_FILES = ['lab-host.box', 'vmlinuz', 'initrd.img'];

async function packerVersion(): Promise<string> {
  const r = await execa('packer', ['version'], { reject: false });
  const m = r.stdout.match(/v?(\d+\.\d+\.\d+)/);
  if (r.exitCode !== 0 || !m) throw new Error('packer is not installed: run `make deps`');
  return m[1] as string;
}

/** Current Packer (1.7+) wants plugins declared and `packer init`; 1.6.6 has them built in. */
function isModernPacker(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return (major ?? 0) > 1 || (minor ?? 0) >= 7;
}

async function runPacker(template: string, vars: Record<string, string>, modern: boolean, asRoot: boolean): Promise<void> {
  const target = modern && path.basename(template) === 'alpine.pkr.hcl' ? path.dirname(template) : template;
  if (modern && target !== template) await execa('packer', ['init', target], { stdio: 'inherit' });
  const argv = ['packer', 'build', '-color=false', ...Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`]), target];
  const needSudo = asRoot && process.getuid?.() !== 0;
  const [cmd, ...args] = needSudo ? ['sudo', '--preserve-env=PATH,TMPDIR', ...argv] : argv;
  const r = await execa(cmd as string, args, { stdio: 'inherit', cwd: PROJECT_ROOT, reject: false });
  if (r.exitCode !== 0) throw new Error(`packer build ${path.relative(PROJECT_ROOT, template)} failed (exit ${r.exitCode})`);
  if (needSudo) {
    const { uid, gid } = { uid: process.getuid?.(), gid: process.getgid?.() };
    await execa('sudo', ['chown', '-R', `${uid}:${gid}`, vars.out_dir as string]);
  }
}

async function fileSizes(dir: string, files: readonly string[]): Promise<ArtifactInfo['files']> {
  const out: ArtifactInfo['files'] = {};
  for (const f of files) out[f] = { file: f, bytes: (await stat(path.join(dir, f))).size };
  return out;
}

function parseVersions(text: string): Record<string, string> {
  return Object.fromEntries(
    text.trim().split('\n').filter(Boolean).map((l) => {
      const [name, ...rest] = l.trim().split(/\s+/);
      return [name as string, rest.join(' ')];
    }),
  );
}

/** Builds one artifact unless it is current. Returns its info and the decision taken. */
async function ensureArtifact(
  config: LabConfig,
  spec: ImageSpec,
  required: string[],
  boot: ArtifactInfo['boot'],
  force: boolean,
  build: (tmp: string) => Promise<void>,
): Promise<{ info: ArtifactInfo; decision: CacheDecision }> {
  const hash = inputHash(spec);
  const decision = decide(imagesDir(config), spec.name, hash, required, force);
  const shared = machineImagesDir(config);
  if (decision.action === 'up-to-date') {
    say(`images: ${spec.name}: ${decision.reason}`);
    // One built before the machine cache existed, or dropped from it: other checkouts find it from now on.
    if (!isComplete(path.join(shared, path.basename(decision.dir)), required)) await storeInMachineCache(shared, decision.dir, spec.name);
    return { info: await readInfo<ArtifactInfo>(decision.dir), decision };
  }
  // FORCE=1 builds again without asking the machine cache (the build then replaces its copy).
  if (!force && (await takeFromMachineCache(shared, decision.dir, required))) {
    say(`images: ${spec.name}: ${decision.reason}; taken from this machine's image cache (${path.join(shared, path.basename(decision.dir))})`);
    await removeStale(spec.name, decision);
    return { info: await readInfo<ArtifactInfo>(decision.dir), decision };
  }
  say(`images: ${spec.name}: ${decision.reason}`);
  const started = performance.now();
  const tmp = await startBuild(decision.dir);
  try {
    await step(`images: building ${spec.name}`, () => build(tmp));
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  const versionsFile = path.join(tmp, 'versions.txt');
  const versions = parseVersions(await readFile(versionsFile, 'utf8').catch(() => ''));
  const info: ArtifactInfo = {
    name: spec.name,
    hash,
    params: Object.fromEntries(Object.entries(spec.params).map(([k, v]) => [k, k === 'vagrantPubKey' ? v.split(/\s+/).slice(0, 1).join('') + ' …' : v])),
    inputs: inputFiles(spec.inputs),
    files: await fileSizes(tmp, required),
    boot,
    versions,
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  // libvirt's qemu user must read kernel, initrd and disks for direct kernel boot.
  await chmod(tmp, 0o755);
  for (const f of await readdir(tmp)) await chmod(path.join(tmp, f), 0o644);
  await finishBuild(tmp, decision.dir, info);
  const dropped = await storeInMachineCache(shared, decision.dir, spec.name);
  say(`images: ${spec.name}: kept in this machine's image cache (${shared})${dropped.length > 0 ? `; dropped the older ${dropped.map((d) => path.basename(d)).join(', ')}` : ''}`);
  await removeStale(spec.name, decision);
  return { info, decision };
}

async function removeStale(name: string, decision: CacheDecision): Promise<void> {
  for (const old of decision.stale) {
    say(`images: ${name}: removing the superseded ${path.basename(old)}`);
    await rm(old, { recursive: true, force: true });
  }
}

/** Can the Alpine ISO be fetched from here? A HEAD request with a short deadline. */
async function alpineReachable(): Promise<{ ok: boolean; why: string }> {
  try {
    const r = await fetch(ALPINE_ISO, { method: 'HEAD', signal: AbortSignal.timeout(3_000) });
    return r.ok ? { ok: true, why: 'Alpine ISO reachable' } : { ok: false, why: `Alpine ISO answered HTTP ${r.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    return { ok: false, why: `Alpine ISO not reachable (${cause})` };
  }
}

export interface BuildImagesOptions {
  force: boolean;
  /** Only the guest image (for the local provider, which needs no lab-host box). */
  guestOnly?: boolean;
}

/**
 * `make images`: the test-guest image and the lab-host box under
 * artifacts/images/, each rebuilt only when its inputs changed, and
 * artifacts/images/manifest.json saying which path was used and why.
 */
export async function buildImages(config: LabConfig, options: BuildImagesOptions): Promise<ImagesManifest> {
  const packer = await packerVersion();
  const modern = isModernPacker(packer);
  const mirror = config.debianMirror ?? findDebianMirror();
  const needMirror = () => {
    if (!mirror) throw new Error('no Debian mirror in this machine\'s apt sources: set LAB_DEBIAN_MIRROR=http://<mirror>/debian');
    return mirror;
  };

  // The guest: Alpine where the ISO can be fetched, else Debian packages.
  let source: GuestSource;
  let reason: string;
  if (config.imageSource === 'auto') {
    const online = await alpineReachable();
    source = online.ok ? 'alpine' : 'debian';
    reason = online.ok ? 'IMAGE_SOURCE=auto: Alpine ISO reachable' : `IMAGE_SOURCE=auto: ${online.why}, using Debian packages`;
  } else {
    source = config.imageSource;
    reason = `IMAGE_SOURCE=${config.imageSource}`;
  }
  say(`images: guest from ${source === 'alpine' ? 'the Alpine ISO' : 'Debian packages'} (${reason})`);

  const buildDebianGuest = () =>
    ensureArtifact(config, guestSpec('debian', config.labSuite), GUEST_FILES.debian, 'kernel', options.force, (tmp) =>
      runPacker(path.join(PROJECT_ROOT, 'packer/guest-debian/guest-debian.pkr.hcl'), { out_dir: tmp, suite: config.labSuite, mirror: needMirror() }, false, false),
    );
  let guest: Awaited<ReturnType<typeof buildDebianGuest>>;
  if (source === 'alpine') {
    try {
      guest = await ensureArtifact(config, guestSpec('alpine', config.labSuite), GUEST_FILES.alpine, 'disk', options.force, async (tmp) => {
        // Packer wants to create the output folder itself.
        await rm(tmp, { recursive: true, force: true });
        await runPacker(path.join(PROJECT_ROOT, 'packer/guest-alpine/alpine.pkr.hcl'), { out_dir: tmp }, modern, false);
        await writeFile(path.join(tmp, 'versions.txt'), `alpine ${ALPINE_VERSION}\n`);
      });
    } catch (error) {
      if (config.imageSource !== 'auto') throw error;
      source = 'debian';
      reason = `IMAGE_SOURCE=auto: the Alpine build failed (${(error as Error).message}), using Debian packages`;
      say(`images: ${reason}`);
      guest = await buildDebianGuest();
    }
  } else {
    guest = await buildDebianGuest();
  }

  const manifest: ImagesManifest = {
    updatedAt: new Date().toISOString(),
    guest: { ...guest.info, source, reason, dir: guest.decision.dir },
    packerVersion: packer,
  };
  if (!options.guestOnly) {
    const pubkey = findVagrantInsecurePubKey();
    if (!pubkey) throw new Error('Vagrant\'s insecure public key not found: install vagrant (make deps)');
    const lab = await ensureArtifact(config, labHostSpec(config.labSuite, pubkey), LAB_HOST_FILES, 'kernel', options.force, (tmp) =>
      runPacker(path.join(PROJECT_ROOT, 'packer/lab-host/lab-host.pkr.hcl'), { out_dir: tmp, suite: config.labSuite, mirror: needMirror(), vagrant_pubkey: pubkey }, false, true),
    );
    manifest.labHost = { ...lab.info, dir: lab.decision.dir };
  }
  const file = path.join(imagesDir(config), 'manifest.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return manifest;
}

/** The manifest of the last `make images`, or an error saying to run it. */
export async function readManifest(config: LabConfig): Promise<ImagesManifest> {
  const file = path.join(imagesDir(config), 'manifest.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ImagesManifest;
  } catch {
    throw new Error(`no images yet (${path.relative(process.cwd(), file)} missing): run \`make images\``);
  }
}
