import type { Dayjs } from 'dayjs';
import { execOk, shellQuote, type Transport } from '../transport/transport.js';
import type { TestVM } from '../vm/test-vm.js';
import { periodFolder, type GroupBy } from './periods.js';
import type { VMSnapOptions } from './vmsnap-runner.js';

// The plan's fixtures (writeDataToVM, createMockBackup, restrictVMPermissions),
// each doing the real thing inside the lab host.

/** '1MB', '512KB', '4096' (KiB) → KiB. */
export function parseSizeKiB(size: string | number): number {
  if (typeof size === 'number') return size;
  const m = /^(\d+)\s*(KB|KiB|K|MB|MiB|M)?$/i.exec(size.trim());
  if (!m) throw new Error(`bad size ${size}: use e.g. 1MB, 512KB`);
  const n = Number(m[1]);
  return /^m/i.test(m[2] ?? 'k') ? n * 1024 : n;
}

/**
 * Writes random data to `path` inside the running guest (through its agent, a
 * real write to its ext4 root on vda), syncs, and returns the sha256.
 */
export async function writeDataToVM(vm: TestVM, path: string, size: string | number): Promise<string> {
  return vm.writeData(path, parseSizeKiB(size));
}

/**
 * An "old" backup, as an earlier period's VMSnap run would have left it:
 * `<root>/<vmName>/<period folder of date>` with a checkpoints folder and a data
 * file. Returns the folder. Content is marked so no one takes it for a real backup.
 */
export async function createMockBackup(t: Transport, root: string, vmName: string, date: Dayjs, groupBy: GroupBy = 'month'): Promise<string> {
  const dir = `${root}/${vmName}/${periodFolder(groupBy, date)}`;
  const q = shellQuote([dir]);
  await execOk(t, `mkdir -p ${q}/checkpoints && echo 'vmsnap-lab mock backup ${date.format('YYYY-MM-DD')}' > ${q}/vda.full.data && echo '<domaincheckpoint/>' > ${q}/checkpoints/virtnbdbackup.0.xml`);
  return dir;
}

/** An identity in the lab host that may use libvirt (libvirt group) but owns nothing. */
export async function unprivilegedUser(t: Transport, home: string): Promise<NonNullable<VMSnapOptions['user']>> {
  const gid = Number((await execOk(t, ['getent', 'group', 'libvirt'])).stdout.split(':')[2]);
  if (!Number.isInteger(gid)) throw new Error('the lab host has no libvirt group');
  await execOk(t, ['install', '-d', '-o', 'nobody', '-m', '0700', home]);
  return { uid: 65534, gid: 65534, groups: [gid], home };
}

/**
 * The restriction the permission test uses: VMSnap runs as `nobody` with the
 * libvirt group (it may drive libvirt and read the domain), while the VM's backup
 * folder `<backupRoot>/<vm>` belongs to root, mode 0755, so VMSnap cannot write
 * its backup there. Returns the identity to run VMSnap as.
 */
export async function restrictVMPermissions(t: Transport, vm: TestVM, backupRoot: string, home: string): Promise<NonNullable<VMSnapOptions['user']>> {
  const user = await unprivilegedUser(t, home);
  await execOk(t, ['install', '-d', '-o', 'root', '-g', 'root', '-m', '0755', backupRoot, `${backupRoot}/${vm.name}`]);
  return user;
}
