import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../../lib/config.js';

// Runs the real doctor command on a PATH that holds nothing but node, so every
// tool is really missing: it must say what and how to fix it, and exit 1.
describe('make doctor on a machine without the lab tools', function () {
  this.timeout(60_000);
  let bin: string;
  before(async () => {
    bin = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-emptypath-'));
    await symlink(process.execPath, path.join(bin, 'node'));
  });
  after(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  it('names each missing tool with a fix, and exits 1', async () => {
    const artifacts = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-doctor-'));
    try {
      const r = await execa(path.join(bin, 'node'), ['--import', 'tsx', 'lib/cli/doctor.ts'], {
        cwd: PROJECT_ROOT,
        env: { PATH: bin, HOME: process.env.HOME, LAB_ARTIFACTS: artifacts },
        extendEnv: false,
        reject: false,
      });
      expect(r.exitCode, r.stderr).to.equal(1);
      // The provider line is the vagrant driver's own preflight, the one lab-up runs first.
      expect(r.stdout).to.match(/^missing +provider +vagrant: vagrant is not installed -> run `make deps` \(installs Debian's vagrant\)$/m);
      for (const tool of ['libvirtd', 'qemu-system-x86_64', 'qemu-img', 'packer', 'tcg']) {
        expect(r.stdout, r.stdout).to.match(new RegExp(`^missing +${tool} .* -> .*make deps`, 'm'));
      }
      expect(r.stdout).to.match(/^missing +lab-host box +no lab-host box in artifacts\/images -> run `make images`$/m);
      expect(r.stdout).to.match(/^ok +node +v\d+/m);
      expect(r.stderr).to.match(/^doctor: \d+ required check\(s\) failed: provider, libvirtd, /m);
    } finally {
      await rm(artifacts, { recursive: true, force: true });
    }
  });

  it('says a lab host that died is dead, with the fix, and exits 1', async () => {
    // A state file as lab-up writes it, for a lab host that no longer exists.
    const artifacts = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-doctor-'));
    try {
      await mkdir(path.join(artifacts, 'lab'));
      const state = { provider: 'vagrant', prefix: 'vmsnap-lab', createdAt: '2026-01-02T03:04:05Z', ssh: { host: '192.0.2.1', port: 22, user: 'root', keyFile: '/nonexistent' } };
      await writeFile(path.join(artifacts, 'lab/state.json'), JSON.stringify(state));
      // The state's prefix, whatever LAB_PREFIX the caller runs with (a shard's run has its own: seen in SHARD=1/2 with LAB_PREFIX=vmsnap-lab-s1).
      const r = await execa('node', ['--import', 'tsx', 'lib/cli/doctor.ts', '--only', 'lab host'], { cwd: PROJECT_ROOT, env: { LAB_ARTIFACTS: artifacts, LAB_PREFIX: 'vmsnap-lab' }, reject: false });
      expect(r.stdout.trim()).to.equal('missing lab host           the lab host of 2026-01-02T03:04:05Z does not answer (it died or was removed) -> run `make lab-down && make lab-up`');
      expect(r.exitCode).to.equal(1);
    } finally {
      await rm(artifacts, { recursive: true, force: true });
    }
  });

  it('names an unknown check in one line and exits 2', async () => {
    const r = await execa('node', ['--import', 'tsx', 'lib/cli/doctor.ts', '--only', 'nope'], { cwd: PROJECT_ROOT, reject: false });
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim()).to.match(/^doctor: no such check: nope \(checks: node, provider, libvirtd, /);
  });

  it('gives one line per bad configuration value and exits 2', async () => {
    const r = await execa('node', ['--import', 'tsx', 'lib/cli/doctor.ts'], {
      cwd: PROJECT_ROOT,
      env: { LAB_PROVIDER: 'docker', LAB_CPUS: 'x' },
      reject: false,
    });
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.length(2);
    expect(r.stderr).to.match(/^doctor: LAB_PROVIDER="docker": /m);
  });
});
