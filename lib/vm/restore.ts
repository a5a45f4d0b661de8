import { execOk, shellQuote, type Transport } from '../transport/transport.js';

/**
 * Restores a virtnbdbackup backup folder with virtnbdrestore into `outDir`
 * (up to checkpoint `until`, or the whole chain) and returns the restored qcow2.
 */
export async function restoreBackup(t: Transport, backupDir: string, outDir: string, until?: string): Promise<string> {
  await execOk(t, ['virtnbdrestore', '-i', backupDir, '-o', outDir, '-n', '-L', `${outDir}.log`, ...(until ? ['--until', until] : [])], { timeout: 900_000 });
  const images = (await execOk(t, ['find', outDir, '-maxdepth', '1', '-type', 'f', '-name', '*.qcow2'])).stdout.trim().split('\n').filter(Boolean);
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
