import { expect } from 'chai';
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../../lib/config.js';

// lib/host/install-deps.sh decides per distro what to install. Its decisions are
// run for real (DEPS_DRY_RUN=1 stops before apt-get install): on this machine's own
// Debian, and on Ubuntu and other os-release files, where dpkg-query and apt-cache
// answer as an Ubuntu machine's would (a PATH of stand-ins: the package database is
// the environment here, not the thing under test).
describe('make deps is distro-aware (lib/host/install-deps.sh)', function () {
  this.timeout(60_000);
  const script = path.join(PROJECT_ROOT, 'lib/host/install-deps.sh');
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-deps-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const osRelease = async (name: string, lines: string) => {
    const f = path.join(dir, name);
    await writeFile(f, lines);
    return f;
  };

  /** A PATH where nothing is installed and the archive has every package but `absent`; no vagrant or packer on it. */
  const ubuntuPath = async (name: string, absent: string[]) => {
    const bin = path.join(dir, name);
    await execa('mkdir', ['-p', bin]);
    for (const tool of ['dirname', 'grep', 'id', 'cat']) await symlink((await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim(), path.join(bin, tool));
    await writeFile(path.join(bin, 'dpkg-query'), '#!/bin/sh\nexit 1\n');
    await writeFile(
      path.join(bin, 'apt-cache'),
      `#!/bin/sh\ncase " ${absent.join(' ')} " in *" $2 "*) echo "$2:"; echo "  Installed: (none)"; echo "  Candidate: (none)";; *) echo "$2:"; echo "  Installed: (none)"; echo "  Candidate: 1.0-1";; esac\n`,
    );
    await chmod(path.join(bin, 'dpkg-query'), 0o755);
    await chmod(path.join(bin, 'apt-cache'), 0o755);
    return bin;
  };

  const run = (env: Record<string, string>) => execa('/bin/bash', [script], { reject: false, env: { DEPS_DRY_RUN: '1', ...env }, extendEnv: !env.PATH });

  it("on this machine's Debian: every package is there, nothing to install", async () => {
    const r = await run({});
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^deps: Debian GNU\/Linux 1[23] .*: system packages already installed$/m);
  });

  it('on Ubuntu whose archive lacks vagrant, vagrant-libvirt and packer: one line naming them and what to do, exit 1', async () => {
    const f = await osRelease('ubuntu', 'ID=ubuntu\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04 LTS"\n');
    const r = await run({ OS_RELEASE: f, PATH: await ubuntuPath('bin-absent', ['vagrant', 'vagrant-libvirt', 'packer']) });
    expect(r.exitCode).to.equal(1);
    expect(r.stdout.trim()).to.equal(
      'deps: Ubuntu 24.04 LTS has no vagrant vagrant-libvirt packer in its archive: install them yourself (vagrant >= 2.3 with the vagrant-libvirt plugin, packer) and run make deps again, or run make deps in a Debian 12/13 container as the nightly workflow does',
    );
  });

  it('on Ubuntu whose archive has everything: installs it all from there', async () => {
    const f = await osRelease('ubuntu-all', 'ID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04 LTS"\n');
    const r = await run({ OS_RELEASE: f, PATH: await ubuntuPath('bin-all', []) });
    expect(r.exitCode, r.stdout).to.equal(0);
    expect(r.stdout).to.match(/^deps: Ubuntu 22\.04 LTS: installing libvirt-daemon-system .* vagrant vagrant-libvirt packer .* ca-certificates$/m);
    expect(r.stdout).to.include('DEPS_DRY_RUN=1: not installing');
  });

  it('on another distro: one line, exit 1', async () => {
    const f = await osRelease('fedora', 'ID=fedora\nVERSION_ID=41\nPRETTY_NAME="Fedora Linux 41"\n');
    const r = await run({ OS_RELEASE: f });
    expect(r.exitCode).to.equal(1);
    expect(r.stdout.trim()).to.equal('deps: Fedora Linux 41 is not supported: make deps installs on Debian 12 or 13 (and on Ubuntu, see README "CI")');
  });
});
