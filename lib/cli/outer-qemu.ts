// `make deps`, last step: on Debian 12, QEMU 10 from bookworm-backports for the
// lab host (see lib/host/outer-qemu.ts for why). Idempotent; run as root.
import { readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { getLabConfig } from '../config.js';
import { findDebianMirror } from '../host/debian-mirror.js';
import {
  BACKPORTS_QEMU_PACKAGES,
  BACKPORTS_SOURCES_FILE,
  MIN_TCG_QEMU_MAJOR,
  backportsSource,
  needsBackportsQemu,
  osCodename,
  qemuMajor,
} from '../host/outer-qemu.js';
import { runCli } from './cli-kit.js';

async function installedMajor(): Promise<{ major: number | undefined; line: string }> {
  const r = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  return { major: qemuMajor(r.stdout), line: r.stdout.split('\n')[0] ?? '' };
}

await runCli('deps', async () => {
  const osRelease = readFileSync('/etc/os-release', 'utf8');
  const before = await installedMajor();
  if (!needsBackportsQemu(osRelease)) {
    console.log(`deps: QEMU: ${before.line || 'not installed'} (${osCodename(osRelease) ?? 'this system'}'s own; Debian 12 alone takes it from backports)`);
    return;
  }
  if ((before.major ?? 0) >= MIN_TCG_QEMU_MAJOR) {
    console.log(`deps: QEMU: ${before.line} (bookworm-backports) already installed`);
    return;
  }
  const mirror = getLabConfig().debianMirror ?? findDebianMirror();
  if (!mirror) throw new Error("no Debian mirror in this machine's apt sources for bookworm-backports: set LAB_DEBIAN_MIRROR=http://<mirror>/debian");
  console.log(`deps: QEMU: ${before.line || 'not installed'}; installing QEMU ${MIN_TCG_QEMU_MAJOR} from bookworm-backports (Debian 12's 7.2 can hang a lab host under TCG)`);
  writeFileSync(BACKPORTS_SOURCES_FILE, backportsSource(mirror));
  await execa('apt-get', ['update', '-q'], { stdio: 'inherit' });
  await execa('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...BACKPORTS_QEMU_PACKAGES.map((p) => `${p}/bookworm-backports`)], {
    stdio: 'inherit',
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
  const after = await installedMajor();
  if ((after.major ?? 0) < MIN_TCG_QEMU_MAJOR) throw new Error(`QEMU is still ${after.line || 'missing'} after installing from bookworm-backports`);
  console.log(`deps: QEMU: ${after.line}`);
});
