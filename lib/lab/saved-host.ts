import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT, type LabConfig } from '../config.js';
import { say } from '../log.js';
import { LocalTransport } from '../transport/local-transport.js';
import { execOk, VIRSH_URI as URI, type Transport } from '../transport/transport.js';
import { RESTORE_ID_FILE } from './lab-health.js';
import { labPaths, outerNames } from './lab-paths.js';

// A saved lab-host state, like `vagrant suspend` with managed save, but one that
// outlives lab-down: taken once, when a lab host has been set up and before any
// test guest ran in it (nested guests are what make a lab host under TCG fragile),
// and restored by later lab-ups in seconds instead of booting the box again
// (`vagrant up`: about a minute under TCG). It is an external snapshot of the
// running lab host: its memory (libvirt's save-image format, which `virsh
// restore` reads) and its disk as it was at that instant (the lab host runs on
// a new overlay from then on). A restored lab host is the same domain (name,
// UUID, MAC, address) in the lab's own pool and network, so libvirt's identity
// check is met as it stands. What a restore cannot bring back is put back
// after it: the clock, the DHCP lease of the new network, and a new identity
// for the lab host (see labHostBootId). Kept per prefix under HOST_STATE_ROOT,
// beside the box cache: lab-down leaves it, `make clean-cache` removes it.

export const HOST_STATE_ROOT = '/var/lib/libvirt/images/vmsnap-lab-hoststate';

/** Where a lab keeps its saved lab-host state on this machine. */
export function savedHostPaths(config: LabConfig) {
  const dir = path.join(HOST_STATE_ROOT, config.prefix);
  return {
    dir,
    memory: path.join(dir, 'memory.save'),
    disk: path.join(dir, 'disk.qcow2'),
    /** Written last: a state without it is a save that did not finish. */
    meta: path.join(dir, 'saved.json'),
    vagrantMachine: path.join(dir, 'vagrant-machine'),
    sshKey: path.join(dir, 'id_lab'),
  };
}

/** Everything a saved state depends on: a different value of any of these makes it another lab host. */
export interface SavedHostInputs {
  /** The box's volume in the box cache pool (box hash and when it was added): the saved disk is an overlay on it. */
  boxVolume: string;
  guestImage: string;
  memoryMiB: number;
  cpus: number;
  accel: string;
  /** The lab's folder on this machine: the serial console and vagrant's dotfile folder point into it. */
  labDir: string;
  /** The lab host's definition and its setup before the save point. */
  code: string;
}

export interface SavedHostMeta {
  key: string;
  inputs: SavedHostInputs;
  /** The management network's /24: the restored lab host keeps its address in it. */
  cidr: string;
  ssh: { host: string; port: number };
  savedAt: string;
}

/** The files whose content defines a lab host up to the save point (the Vagrantfile and the inside setup). */
export async function codeDigest(): Promise<string> {
  const h = createHash('sha256');
  for (const f of ['Vagrantfile', 'lib/lab/inner-setup.ts', 'lib/lab/saved-host.ts']) h.update(f).update(await readFile(path.join(PROJECT_ROOT, f)));
  return h.digest('hex').slice(0, 12);
}

export function savedHostKey(inputs: SavedHostInputs): string {
  const ordered = Object.fromEntries(Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex').slice(0, 12);
}

export async function readSavedHost(config: LabConfig): Promise<SavedHostMeta | undefined> {
  const p = savedHostPaths(config);
  if (!existsSync(p.meta)) return undefined;
  return JSON.parse(await readFile(p.meta, 'utf8')) as SavedHostMeta;
}

/** Whether anything of a saved state is there, finished or not. */
export function hasSavedHost(config: LabConfig): boolean {
  return existsSync(savedHostPaths(config).dir);
}

export async function removeSavedHost(config: LabConfig, why: string): Promise<void> {
  if (!hasSavedHost(config)) return;
  say(`lab: removing the saved lab-host state (${why})`);
  await rm(savedHostPaths(config).dir, { recursive: true, force: true });
}

/**
 * Which of `a`'s inputs differ in `b`: what a lab-up says when a saved state
 * is not for the lab host it would start.
 */
export function changedInputs(a: SavedHostInputs, b: SavedHostInputs): string[] {
  return (Object.keys(a) as (keyof SavedHostInputs)[]).filter((k) => a[k] !== b[k]);
}

/**
 * Takes the saved state of the running lab host: its memory and its disk as of
 * now (the lab host pauses for a few seconds, then runs on a new overlay in the
 * lab's pool), vagrant's machine files and the lab's SSH key. `t` is a root
 * transport into it, used to put the clock right after the pause.
 */
export async function saveHost(config: LabConfig, t: Transport, inputs: SavedHostInputs, ssh: SavedHostMeta['ssh'], cidr: string): Promise<void> {
  const local = new LocalTransport();
  const p = savedHostPaths(config);
  const lab = labPaths(config);
  const { domain, pool } = outerNames(config);
  await rm(p.dir, { recursive: true, force: true });
  await mkdir(p.dir, { recursive: true });
  const frozen = path.join(lab.poolDir, `${domain}.img`);
  // --no-metadata: libvirt keeps no snapshot object, so vagrant destroy and undefine see a plain domain.
  await execOk(local, [
    'virsh', ...URI, 'snapshot-create-as', domain, '--no-metadata',
    '--memspec', `file=${p.memory},snapshot=external`,
    '--diskspec', `vda,snapshot=external,file=${path.join(lab.poolDir, `${domain}-running.qcow2`)}`,
  ], { timeout: 300_000 });
  // The new overlay must be a volume of the pool: vagrant destroy looks each disk up there.
  await execOk(local, ['virsh', ...URI, 'pool-refresh', pool]);
  await putClockRight(t);
  await cp(frozen, p.disk);
  await cp(path.join(lab.vagrantDotfile, 'machines', 'labhost', 'libvirt'), p.vagrantMachine, { recursive: true });
  await cp(lab.sshKey, p.sshKey);
  const meta: SavedHostMeta = { key: savedHostKey(inputs), inputs, cidr, ssh, savedAt: new Date().toISOString() };
  await writeFile(p.meta, `${JSON.stringify(meta, null, 2)}\n`);
}

/**
 * Starts the lab host from its saved state: a new overlay on the saved disk as
 * the lab host's disk (the path it had), the domain defined as it was, its
 * memory restored, and vagrant's machine files and the SSH key put back so
 * vagrant and lab-down see the machine they made. The lab's network and pool
 * must exist (with `meta.cidr`), and the kernel and initrd be in the pool.
 */
export async function restoreHost(config: LabConfig, meta: SavedHostMeta): Promise<void> {
  const local = new LocalTransport();
  const p = savedHostPaths(config);
  const lab = labPaths(config);
  const { domain, pool } = outerNames(config);
  const disk = path.join(lab.poolDir, `${domain}.img`);
  await execOk(local, ['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', p.disk, disk]);
  await execOk(local, ['virsh', ...URI, 'pool-refresh', pool]);
  const xml = path.join(lab.dir, 'restore.xml');
  await writeFile(xml, (await execOk(local, ['virsh', ...URI, 'save-image-dumpxml', p.memory])).stdout);
  // Defined first, so the restored domain is persistent, as the one vagrant made.
  await execOk(local, ['virsh', ...URI, 'define', xml]);
  await execOk(local, ['virsh', ...URI, 'restore', p.memory, '--xml', xml], { timeout: 300_000 });
  await rm(xml);
  await rm(lab.vagrantDotfile, { recursive: true, force: true });
  await mkdir(path.join(lab.vagrantDotfile, 'machines', 'labhost'), { recursive: true });
  await cp(p.vagrantMachine, path.join(lab.vagrantDotfile, 'machines', 'labhost', 'libvirt'), { recursive: true });
  await cp(p.sshKey, lab.sshKey);
  say(`lab: restored the lab host saved at ${meta.savedAt} (${meta.ssh.host})`);
}

/**
 * What a restored lab host needs put right: the clock (it stood still from the
 * save), a DHCP lease in the new network (vagrant finds the lab host's address
 * there), and a restore id that makes it another lab host than every earlier
 * restore of the same state (labHostBootId; the kernel's boot id is the saved one).
 */
export async function repinRestored(t: Transport): Promise<void> {
  await putClockRight(t);
  await execOk(t, `networkctl renew "$(ip -o -4 route show default | awk '{print $5; exit}')"
mkdir -p ${path.dirname(RESTORE_ID_FILE)} && cat /proc/sys/kernel/random/uuid > ${RESTORE_ID_FILE}`);
}

/** The lab host's clock set to this machine's: it stands still while the lab host is paused or saved. */
async function putClockRight(t: Transport): Promise<void> {
  await execOk(t, ['date', '-s', `@${(Date.now() / 1000).toFixed(3)}`]);
}

/** Removes every saved lab-host state (make clean-cache); refuses while a defined domain's disk is an overlay on one. */
export async function removeAllSavedHosts(inUse: Set<string>): Promise<string[]> {
  if (!existsSync(HOST_STATE_ROOT)) return [];
  const prefixes = await readdir(HOST_STATE_ROOT);
  const busy = prefixes.filter((d) => inUse.has(path.join(HOST_STATE_ROOT, d, 'disk.qcow2')));
  if (busy.length > 0) throw new Error(`a lab host runs on a saved lab-host state (${busy.join(', ')}): run \`make lab-down\` first`);
  await rm(HOST_STATE_ROOT, { recursive: true, force: true });
  return prefixes;
}
