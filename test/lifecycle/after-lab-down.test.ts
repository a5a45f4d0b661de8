import { existsSync } from 'node:fs';
import { expect } from 'chai';
import { getLabConfig } from '../../lib/config.js';
import { driverFor } from '../../lib/lab/drivers/index.js';
import { labPaths } from '../../lib/lab/lab-paths.js';
import { BOX_CACHE_POOL } from '../../lib/lab/box-cache.js';
import { auditOuter, poolVolumes } from '../../lib/lab/outer-libvirt.js';
import { readSavedHost, savedHostPaths } from '../../lib/lab/saved-host.js';
import { readSentinel } from '../../lib/lab/sentinel.js';
import { LocalTransport } from '../../lib/transport/local-transport.js';
import { execOk } from '../../lib/transport/transport.js';
import { notRun } from '../support/test-marks.js';

// Run by `make test` right after `lab-down`, on this (outer) machine: the lab
// left nothing with its prefix, and the sentinel defined before lab-up is intact.
describe('After lab-down, on this machine', () => {
  const t = new LocalTransport();
  const config = getLabConfig();
  const sentinelFile = process.env.LAB_SENTINEL_FILE;

  it('no domain, network or pool with the lab prefix is left in libvirt', async () => {
    expect(await auditOuter(t, config.prefix)).to.deep.equal({ domains: [], networks: [], pools: [] });
  });

  it('no lab state, SSH key, Vagrant machine folder or storage pool folder is left', () => {
    const p = labPaths(config);
    for (const f of [p.state, p.sshKey, p.vagrantDotfile, p.poolDir]) expect(existsSync(f), f).to.equal(false);
  });

  it('the box cache pool is kept, holding boxes only (the lab host\'s own disk went with the lab\'s pool)', async function () {
    if (!driverFor(config.provider).hasLabHost) notRun(this, 'the local provider has no lab host box');
    // Set by `make test`: whether its lab-up got the lab host up (and so filled the cache).
    if (process.env.LAB_UP_DONE === '0') notRun(this, 'this run\'s lab-up failed, so it may never have reached the box cache');
    expect((await t.exec(['virsh', '-c', 'qemu:///system', 'pool-info', BOX_CACHE_POOL])).exitCode, `${BOX_CACHE_POOL} kept`).to.equal(0);
    const vols = await poolVolumes(t, BOX_CACHE_POOL);
    expect(vols.length, `volumes of ${BOX_CACHE_POOL}: ${vols.join(' ')}`).to.be.greaterThan(0);
    for (const v of vols) expect(v, 'a box volume, not a lab host disk').to.match(/_vagrant_box_image_.*_box\.img$/);
  });

  it("the lab's saved lab-host state is kept, whole (lab-down leaves it, as the box cache; make clean-cache removes it)", async function () {
    if (!driverFor(config.provider).hasLabHost) notRun(this, 'the local provider has no lab host to save');
    if (!config.hostState) notRun(this, 'LAB_HOST_STATE=0: lab-up neither saves nor restores a lab-host state');
    if (process.env.LAB_UP_DONE === '0') notRun(this, "this run's lab-up failed, so it may never have saved the lab host");
    const p = savedHostPaths(config);
    for (const f of [p.meta, p.memory, p.disk, p.sshKey]) expect(existsSync(f), f).to.equal(true);
    const meta = await readSavedHost(config);
    expect(meta?.inputs.labDir, 'saved by this lab').to.equal(labPaths(config).dir);
    const chain = JSON.parse((await execOk(t, ['qemu-img', 'info', '-U', '--backing-chain', '--output=json', p.disk])).stdout) as { 'full-backing-filename'?: string }[];
    expect(chain[0]?.['full-backing-filename'], 'an overlay on the box in the box cache').to.match(new RegExp(`^/var/lib/libvirt/images/${BOX_CACHE_POOL}/.*_box\\.img$`));
  });

  it('the sentinel domain and network the lab did not create are still defined, unchanged', async function () {
    if (!sentinelFile) throw new Error('LAB_SENTINEL_FILE is not set: this suite runs from `make test`, which defines the sentinel before lab-up');
    const s = await readSentinel(sentinelFile);
    expect((await execOk(t, ['virsh', '-c', 'qemu:///system', 'dumpxml', s.domain])).stdout).to.equal(s.domainXml);
    expect((await execOk(t, ['virsh', '-c', 'qemu:///system', 'net-dumpxml', s.network])).stdout).to.equal(s.networkXml);
  });
});
