import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile, chmod, readdir, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { downloadAndUnpack, resolveMetaPackage } from '../host/apt.js';
import { say } from '../log.js';
import { LocalTransport } from '../transport/local-transport.js';
import { execOk } from '../transport/transport.js';

export interface ProbeKit {
  kernel: string;
  initrd: string;
}

/** What the probe guest prints on its serial console once it reached userspace. */
export const PROBE_MARKER = 'VMSNAP_LAB_PROBE_OK';

// The whole userspace of the probe guest: reach /init, say so on the serial port,
// power off. Anything less (a kernel that only panics) would not prove a guest runs.
const INIT = `#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox echo ${PROBE_MARKER} > /dev/ttyS0
/bin/busybox poweroff -f
`;

/**
 * A Debian kernel and a busybox initramfs in `dir` (artifacts/probe), built once
 * from the machine's apt sources. Used to find out whether an accelerator really
 * runs a guest: a /dev/kvm that exists is not enough (PVM-only hosts hang).
 */
export async function ensureProbeKit(dir: string): Promise<ProbeKit> {
  const kit = { kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img') };
  if (existsSync(kit.kernel) && existsSync(kit.initrd)) return kit;
  say(`Building the KVM probe kit in ${dir} (Debian kernel + busybox initramfs)...`);
  const t = new LocalTransport();
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    const kernelPkg = await resolveMetaPackage(t, 'linux-image-amd64', 'linux-image-');
    await downloadAndUnpack(t, [kernelPkg, 'busybox-static'], path.join(tmp, 'root'));
    const boot = path.join(tmp, 'root', 'boot');
    const vmlinuz = (await readdir(boot)).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error(`${kernelPkg} has no vmlinuz`);
    const ird = path.join(tmp, 'initrd');
    await mkdir(path.join(ird, 'bin'), { recursive: true });
    await mkdir(path.join(ird, 'dev'));
    await copyFile(path.join(tmp, 'root', 'bin', 'busybox'), path.join(ird, 'bin', 'busybox'));
    await writeFile(path.join(ird, 'init'), INIT);
    await chmod(path.join(ird, 'init'), 0o755);
    await execOk(t, 'find . | cpio -o -H newc --quiet | gzip -1 > ../initrd.img', { cwd: ird });
    await rename(path.join(boot, vmlinuz), path.join(tmp, 'vmlinuz'));
    await rm(path.join(tmp, 'root'), { recursive: true });
    await rm(ird, { recursive: true });
    // Renamed into place only when complete: a half-built kit never looks finished.
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    say(`Built the KVM probe kit (${vmlinuz})`);
    return kit;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
