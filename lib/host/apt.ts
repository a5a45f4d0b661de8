import { execOk, shellQuote, type Transport } from '../transport/transport.js';

/**
 * Downloads Debian packages with the machine's own apt configuration (so its own
 * mirror, never one written into this project) and unpacks them into `dest`.
 * Returns the exact package versions, for manifests and cache keys.
 */
export async function downloadAndUnpack(
  t: Transport,
  packages: readonly string[],
  dest: string,
): Promise<Record<string, string>> {
  const dl = `${dest}.debs`;
  await execOk(t, ['mkdir', '-p', dest, dl]);
  try {
    // apt-get download runs as root without its sandbox user; the warning is harmless.
    await execOk(t, ['apt-get', 'download', '-q', ...packages], { cwd: dl, timeout: 600_000 });
    const listed = await execOk(t, `for f in ${shellQuote([dl])}/*.deb; do dpkg-deb -f "$f" Package Version | paste -sd' '; dpkg-deb -x "$f" ${shellQuote([dest])}; done`);
    const versions: Record<string, string> = {};
    for (const line of listed.stdout.trim().split('\n')) {
      const [name, version] = line.replace(/Package: |Version: /g, '').split(' ');
      if (name && version) versions[name] = version;
    }
    return versions;
  } finally {
    await t.exec(['rm', '-rf', dl]);
  }
}

/** Resolves a Debian meta package (e.g. linux-image-amd64) to the package it depends on. */
export async function resolveMetaPackage(t: Transport, meta: string, prefix: string): Promise<string> {
  const out = await execOk(t, ['apt-cache', 'depends', meta]);
  const dep = out.stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('Depends:') && l.includes(prefix));
  if (!dep) {
    throw new Error(`apt knows no ${meta}: run "apt-get update" first (or make deps)`);
  }
  return dep.replace('Depends:', '').trim();
}
