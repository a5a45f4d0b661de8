import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { getLabConfig } from '../../../lib/config.js';
import { driverFor, PreflightError } from '../../../lib/lab/drivers/index.js';
import { labPaths } from '../../../lib/lab/lab-paths.js';

// Every provider LAB_PROVIDER accepts has a driver of its own name; the lab's
// lifecycle asks the driver, never the provider's name.
describe('lab drivers', () => {
  for (const provider of ['vagrant', 'local'] as const) {
    it(`LAB_PROVIDER=${provider} gets the ${provider} driver`, () => {
      expect(getLabConfig({ LAB_PROVIDER: provider, SUT: 'none' }).provider).to.equal(provider);
      expect(driverFor(provider).name).to.equal(provider);
    });
  }

  it('only the vagrant driver has a lab host (one that can die, be replaced and be taken down)', () => {
    expect(driverFor('vagrant').hasLabHost).to.equal(true);
    expect(driverFor('local').hasLabHost).to.equal(false);
  });

  it('the local driver never reports a lab host death, so lab-up never retries on its behalf', async () => {
    const config = getLabConfig({ LAB_PROVIDER: 'local', SUT: 'none' });
    expect(await driverFor('local').diedDuringCreate(config, { hostStarted: true })).to.equal(undefined);
  });

  it("the lab host's complaints come from the driver: the vagrant lab host's serial console on this machine, none for local", async () => {
    const artifacts = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-drivers-'));
    try {
      const config = getLabConfig({ LAB_PROVIDER: 'vagrant', SUT: 'none', LAB_ARTIFACTS: artifacts });
      const serial = labPaths(config).serialLog;
      await mkdir(path.dirname(serial), { recursive: true });
      const oops = '[  12.5] BUG: soft lockup - CPU#0 stuck for 22s!';
      await writeFile(serial, `[    0.0] Linux version 6.12\n${oops}\n[    0.0] Linux version 6.12\n[    1.0] quiet\n`);
      expect(driverFor('vagrant').complaints(config, 'previous')).to.deep.equal([oops]);
      expect(driverFor('vagrant').complaints(config)).to.deep.equal([]);
      expect(driverFor('local').complaints({ ...config, provider: 'local' }, 'previous')).to.deep.equal([]);
    } finally {
      await rm(artifacts, { recursive: true, force: true });
    }
  });

  it('a preflight that finds something missing says what and how to fix it (local, on a PATH without the tools)', async () => {
    const config = getLabConfig({ LAB_PROVIDER: 'local', SUT: 'none' });
    // A PATH with a shell and nothing else: every tool is really missing.
    const bin = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-shonly-'));
    await symlink('/bin/sh', path.join(bin, 'sh'));
    const path0 = process.env.PATH;
    process.env.PATH = bin;
    let error: unknown;
    try {
      await driverFor('local').preflight(config);
    } catch (e) {
      error = e;
    } finally {
      process.env.PATH = path0;
      await rm(bin, { recursive: true, force: true });
    }
    expect(error).to.be.instanceOf(PreflightError);
    expect((error as PreflightError).problem).to.match(/^LAB_PROVIDER=local needs virsh, qemu-img, .*node on this machine$/);
    expect((error as PreflightError).fix).to.match(/^apt-get install virtnbdbackup/);
  });
});
