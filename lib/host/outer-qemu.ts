/**
 * The QEMU that runs the lab host on this machine. Under TCG the lab host's own
 * guests run on QEMU's emulated SVM, and Debian 12's QEMU 7.2 sometimes leaves a
 * lab-host vCPU halted for good (RCU stalls, then the lab host stops answering:
 * see README, "The lab host under TCG"). Debian 12 therefore takes QEMU from
 * bookworm-backports (10.0, the version Debian 13 ships); other releases keep
 * their own QEMU.
 */

/** The oldest QEMU major version a lab host may run under TCG (under KVM any will do). */
export const MIN_TCG_QEMU_MAJOR = 10;

/** Installed together: a QEMU 10 binary needs its own firmware and data files. */
export const BACKPORTS_QEMU_PACKAGES = ['qemu-system-x86', 'qemu-system-common', 'qemu-system-data', 'qemu-utils', 'seabios'] as const;

export const BACKPORTS_SOURCES_FILE = '/etc/apt/sources.list.d/vmsnap-lab-bookworm-backports.sources';

/** `VERSION_CODENAME` from /etc/os-release text, or undefined. */
export function osCodename(osRelease: string): string | undefined {
  return osRelease.match(/^VERSION_CODENAME=["']?([a-z]+)["']?\s*$/m)?.[1];
}

/** Only Debian 12 needs the backports QEMU: 13 ships 10.0 itself. */
export function needsBackportsQemu(osRelease: string): boolean {
  return osCodename(osRelease) === 'bookworm';
}

/** The major version in `qemu-system-x86_64 --version` output, or undefined. */
export function qemuMajor(versionOutput: string): number | undefined {
  const m = versionOutput.match(/QEMU emulator version (\d+)\./);
  return m ? Number(m[1]) : undefined;
}

/**
 * A deb822 source for bookworm-backports on `mirror` (this machine's own Debian
 * mirror). Backports has apt priority 100, so nothing else is upgraded from it
 * unless named, as the installer names only the QEMU packages.
 */
export function backportsSource(mirror: string): string {
  return `# Written by vmsnap-lab (make deps): QEMU 10 for lab hosts under TCG.\nTypes: deb\nURIs: ${mirror}\nSuites: bookworm-backports\nComponents: main\n`;
}
