import { execOk, shellQuote, type Transport } from '../transport/transport.js';

/**
 * Restores a virtnbdbackup backup folder with virtnbdrestore into `outDir`
 * (up to checkpoint `until`, or the whole chain) and returns the restored qcow2.
 */
export async function restoreBackup(t: Transport, backupDir: string, outDir: string, until?: string): Promise<string> {
  const images = [...(await restoreBackupDisks(t, backupDir, outDir, { until })).values()].filter((f) => f.endsWith('.qcow2'));
  if (images.length !== 1) throw new Error(`virtnbdrestore left ${images.length} qcow2 images in ${outDir}, expected 1: ${images.join(', ')}`);
  return images[0] as string;
}

/**
 * sha256 of a file inside the ext4 root of a disk image, read outside any guest
 * (qemu-img convert to raw, then debugfs); undefined when the file is not there.
 * `work` is a scratch folder in the lab host.
 */
export async function fileSha256InImage(t: Transport, image: string, file: string, work: string): Promise<string | undefined> {
  const raw = `${work}/check-${process.pid}.raw`;
  await execOk(t, ['qemu-img', 'convert', '-O', 'raw', image, raw], { timeout: 300_000 });
  try {
    const r = await t.exec(
      `debugfs -R ${shellQuote([`stat ${file}`])} ${shellQuote([raw])} 2>&1 | grep -q '^Inode:' && debugfs -R ${shellQuote([`cat ${file}`])} ${shellQuote([raw])} 2>/dev/null | sha256sum`,
    );
    return r.exitCode === 0 ? r.stdout.trim().split(/\s+/)[0] : undefined;
  } finally {
    await execOk(t, ['rm', '-f', raw]);
  }
}

/**
 * Restores a backup of a guest with several disks (virtnbdrestore writes one image
 * per disk, named as the disk's own file; with `raw`, its --raw, the copies of raw
 * disks too) and returns the restored image of each, by the file name of the
 * guest's disk it restores.
 */
export async function restoreBackupDisks(t: Transport, backupDir: string, outDir: string, options: { until?: string; raw?: boolean } = {}): Promise<Map<string, string>> {
  const extra = [...(options.until ? ['--until', options.until] : []), ...(options.raw ? ['--raw'] : [])];
  await execOk(t, ['virtnbdrestore', '-i', backupDir, '-o', outDir, '-n', '-L', `${outDir}.log`, ...extra], { timeout: 900_000 });
  const images = (await execOk(t, ['find', outDir, '-maxdepth', '1', '-type', 'f'])).stdout.trim().split('\n').filter(Boolean);
  return new Map(images.map((f) => [f.split('/').pop() as string, f]));
}

/**
 * sha256 of `MiB` MiB at `offsetMiB` MiB into a disk image's contents (any format:
 * converted to raw first), for disks a guest wrote as a block device, without a
 * filesystem.
 */
export async function regionSha256InImage(t: Transport, image: string, offsetMiB: number, MiB: number, work: string): Promise<string> {
  const raw = `${work}/region-${process.pid}.raw`;
  await execOk(t, ['qemu-img', 'convert', '-O', 'raw', image, raw], { timeout: 300_000 });
  try {
    const r = await execOk(t, `dd if=${shellQuote([raw])} bs=1M skip=${offsetMiB} count=${MiB} 2>/dev/null | sha256sum`);
    return r.stdout.trim().split(/\s+/)[0] as string;
  } finally {
    await execOk(t, ['rm', '-f', raw]);
  }
}
