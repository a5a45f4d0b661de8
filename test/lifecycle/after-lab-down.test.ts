import { existsSync } from 'node:fs';
import { expect } from 'chai';
import { getLabConfig } from '../../lib/config.js';
import { labPaths } from '../../lib/lab/lab-paths.js';
import { auditOuter } from '../../lib/lab/outer-libvirt.js';
import { readSentinel } from '../../lib/lab/sentinel.js';
import { LocalTransport } from '../../lib/transport/local-transport.js';
import { execOk } from '../../lib/transport/transport.js';

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

  it('the sentinel domain and network the lab did not create are still defined, unchanged', async function () {
    if (!sentinelFile) throw new Error('LAB_SENTINEL_FILE is not set: this suite runs from `make test`, which defines the sentinel before lab-up');
    const s = await readSentinel(sentinelFile);
    expect((await execOk(t, ['virsh', '-c', 'qemu:///system', 'dumpxml', s.domain])).stdout).to.equal(s.domainXml);
    expect((await execOk(t, ['virsh', '-c', 'qemu:///system', 'net-dumpxml', s.network])).stdout).to.equal(s.networkXml);
  });
});
