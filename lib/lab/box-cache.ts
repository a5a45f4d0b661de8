import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { say } from '../log.js';
import { execOk, VIRSH_URI as URI, type Transport } from '../transport/transport.js';
import { poolVolumes } from './outer-libvirt.js';

// The lab host's box, uploaded once into a pool that lab-down leaves alone, the
// way Vagrant keeps boxes in ~/.vagrant.d: vagrant-libvirt uploads a box into
// `storage_pool_name` only when no volume of that name is there yet, and puts the
// lab host's own disk (an overlay on it) into `snapshot_pool_name`, the lab's
// pool. Without it every lab-up copies 822 MiB through libvirt again (about 90 s
// under TCG). The pool is this machine's, shared by every lab prefix and checkout
// (one box per image hash), so its name is no lab's: no prefix audit counts it.

export const BOX_CACHE_POOL = 'vmsnap-lab-boxcache';
export const BOX_CACHE_DIR = `/var/lib/libvirt/images/${BOX_CACHE_POOL}`;

/** Where `vagrant box add` put a box's disk image (vagrant-libvirt's layout, unversioned box). */
export function boxImagePath(vagrantHome: string, box: string): string {
  return path.join(vagrantHome, 'boxes', box.replace(/\//g, '-VAGRANTSLASH-'), '0', 'libvirt', 'box.img');
}

/**
 * The volume vagrant-libvirt uploads a box to (HandleBoxImage.get_volume_name): an
 * unversioned box gets version `0_<mtime of box.img>`, so a box added again is a new volume.
 */
export function boxVolumeName(box: string, boxImageMtimeS: number): string {
  return `${box.replace(/\//g, '-VAGRANTSLASH-')}_vagrant_box_image_0_${Math.floor(boxImageMtimeS)}_box.img`;
}

export interface BoxCacheResult {
  /** warm: the box's volume is there and identical to box.img; cold: vagrant up uploads it. */
  path: 'warm' | 'cold';
  volume: string;
  /** Volumes removed: partial uploads and boxes no lab uses any more. */
  removed: string[];
}

/** Every file a defined domain of the outer libvirt reads: its disks and their backing files. */
export async function filesInUse(t: Transport): Promise<Set<string>> {
  const used = new Set<string>();
  const domains = (await execOk(t, ['virsh', ...URI, 'list', '--all', '--name'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  for (const d of domains) {
    const table = (await t.exec(['virsh', ...URI, 'domblklist', d, '--details'])).stdout;
    for (const line of table.split('\n')) {
      const source = line.trim().split(/\s+/)[3];
      if (!source?.startsWith('/')) continue;
      used.add(source);
      const info = await t.exec(['qemu-img', 'info', '-U', '--backing-chain', '--output=json', source]);
      if (info.exitCode !== 0) continue;
      for (const layer of JSON.parse(info.stdout) as { 'full-backing-filename'?: string }[]) {
        if (layer['full-backing-filename']) used.add(layer['full-backing-filename']);
      }
    }
  }
  return used;
}

/**
 * Makes the box cache pool ready for `vagrant up`: creates it when missing, keeps
 * the current box's volume only if it is byte for byte box.img (a lab-up killed
 * mid-upload leaves a partial one, which vagrant-libvirt would boot from), and
 * removes the volumes of other boxes unless a defined domain still reads one.
 */
export async function prepareBoxCache(t: Transport, vagrantHome: string, box: string): Promise<BoxCacheResult> {
  const image = boxImagePath(vagrantHome, box);
  const volume = boxVolumeName(box, (await stat(image)).mtimeMs / 1000);
  const info = await t.exec(['virsh', ...URI, 'pool-info', BOX_CACHE_POOL]);
  if (info.exitCode !== 0) {
    say(`lab: creating the box cache pool ${BOX_CACHE_POOL} (${BOX_CACHE_DIR}; kept by lab-down, removed by make clean-cache)`);
    await mkdir(BOX_CACHE_DIR, { recursive: true });
    await execOk(t, ['virsh', ...URI, 'pool-define-as', BOX_CACHE_POOL, 'dir', '--target', BOX_CACHE_DIR]);
  }
  if (!/State:\s+running/.test(info.stdout)) await execOk(t, ['virsh', ...URI, 'pool-start', BOX_CACHE_POOL]);
  await execOk(t, ['virsh', ...URI, 'pool-refresh', BOX_CACHE_POOL]);

  const removed: string[] = [];
  const remove = async (vol: string, why: string) => {
    say(`lab: box cache: removing ${vol} (${why})`);
    await execOk(t, ['virsh', ...URI, 'vol-delete', vol, '--pool', BOX_CACHE_POOL]);
    removed.push(vol);
  };
  let warm = false;
  let inUse: Set<string> | undefined;
  for (const vol of await poolVolumes(t, BOX_CACHE_POOL)) {
    if (vol === volume) {
      warm = (await t.exec(['cmp', '-s', path.join(BOX_CACHE_DIR, vol), image])).exitCode === 0;
      if (!warm) await remove(vol, 'not the same bytes as the box: an upload that did not finish');
      continue;
    }
    inUse ??= await filesInUse(t);
    if (!inUse.has(path.join(BOX_CACHE_DIR, vol))) await remove(vol, 'a box no defined lab host uses');
  }
  return { path: warm ? 'warm' : 'cold', volume, removed };
}

/** Removes the box cache pool and its volumes (make clean-cache); refuses while a defined domain reads one. */
export async function removeBoxCache(t: Transport): Promise<string[]> {
  if ((await t.exec(['virsh', ...URI, 'pool-info', BOX_CACHE_POOL])).exitCode !== 0) {
    await rm(BOX_CACHE_DIR, { recursive: true, force: true });
    return [];
  }
  await t.exec(['virsh', ...URI, 'pool-start', BOX_CACHE_POOL]);
  const vols = await poolVolumes(t, BOX_CACHE_POOL);
  const inUse = await filesInUse(t);
  const busy = vols.filter((v) => inUse.has(path.join(BOX_CACHE_DIR, v)));
  if (busy.length > 0) throw new Error(`the box cache is in use by a lab host (${busy.join(', ')}): run \`make lab-down\` first`);
  for (const vol of vols) await execOk(t, ['virsh', ...URI, 'vol-delete', vol, '--pool', BOX_CACHE_POOL]);
  await t.exec(['virsh', ...URI, 'pool-destroy', BOX_CACHE_POOL]);
  await execOk(t, ['virsh', ...URI, 'pool-undefine', BOX_CACHE_POOL]);
  await rm(BOX_CACHE_DIR, { recursive: true, force: true });
  return vols;
}
