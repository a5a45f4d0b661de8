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

/** The unprivileged user the permission tests run VMSnap as. */
export const LAB_USER = 'vmsnap-lab-user';

/**
 * An unprivileged user in the lab host that may use libvirt and owns nothing:
 * a real member of the libvirt group (polkit reads membership from the user
 * database, so a process's extra groups are not enough). Created when missing;
 * `removeLabUser` takes it away again.
 */
export async function unprivilegedUser(t: Transport, home: string): Promise<NonNullable<VMSnapOptions['user']>> {
  await execOk(t, `id -u ${LAB_USER} >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin -G libvirt ${LAB_USER}`);
  const id = async (flag: string) => Number((await execOk(t, ['id', flag, LAB_USER])).stdout.trim());
  const [uid, gid] = [await id('-u'), await id('-g')];
  const libvirtGid = Number((await execOk(t, ['getent', 'group', 'libvirt'])).stdout.split(':')[2]);
  await execOk(t, ['install', '-d', '-o', LAB_USER, '-m', '0700', home]);
  return { uid, gid, groups: [libvirtGid], home };
}

export async function removeLabUser(t: Transport): Promise<void> {
  await execOk(t, `! id -u ${LAB_USER} >/dev/null 2>&1 || userdel ${LAB_USER}`);
}

/**
 * The restriction the permission test uses: the VM's backup folder
 * `<backupRoot>/<vm>` belongs to root, mode 0755, so VMSnap run as LAB_USER (a
 * member of the libvirt group: it may drive libvirt and read the domain) cannot
 * write its backup there.
 */
export async function restrictVMPermissions(t: Transport, vm: TestVM, backupRoot: string): Promise<void> {
  await execOk(t, ['install', '-d', '-o', 'root', '-g', 'root', '-m', '0755', backupRoot, `${backupRoot}/${vm.name}`]);
}
