import { existsSync } from 'node:fs';
import { expect } from 'chai';
import { getLabConfig, type LabConfig } from '../../lib/config.js';
import { driverFor } from '../../lib/lab/drivers/index.js';
import { connectLab } from '../../lib/lab/lab.js';
import { labPaths, outerNames } from '../../lib/lab/lab-paths.js';
import { readState } from '../../lib/lab/lab-state.js';
import { labAnswers, labDown, labUp } from '../../lib/lab/lab-up.js';
import { auditOuter } from '../../lib/lab/outer-libvirt.js';
import { LocalTransport } from '../../lib/transport/local-transport.js';
import { execOk, VIRSH_URI } from '../../lib/transport/transport.js';

// Two labs with different prefixes up on one machine at once, the second's
// prefix starting with the first's (the hardest case for name matching): each
// has its own folders, libvirt objects, bridge and subnet, neither takes the
// other's objects for its own, and one's lab-down leaves the other working.
// Runs on this machine (vagrant provider); brings the second lab up and down itself.
describe('Two labs side by side: a prefix isolates', function () {
  const outer = new LocalTransport();
  let a: LabConfig;
  let b: LabConfig;
  /** libvirt's name for a network's bridge, and its IPv4 address. */
  const netOf = async (network: string) => {
    const xml = (await execOk(outer, ['virsh', ...VIRSH_URI, 'net-dumpxml', network])).stdout;
    return { bridge: /<bridge name='([^']+)'/.exec(xml)?.[1], ip: /<ip address='([^']+)'/.exec(xml)?.[1] };
  };
  /** A lab host that answers and runs libvirt: `virsh list` through its own transport. */
  const works = async (config: LabConfig) => {
    const lab = await connectLab(config);
    try {
      return (await lab.transport.exec(['virsh', ...VIRSH_URI, 'list', '--all'])).exitCode === 0;
    } finally {
      await lab.transport.close();
    }
  };

  before(async function () {
    a = getLabConfig();
    if (!driverFor(a.provider).hasLabHost) this.skip();
    // A second lab for this test only: it leaves no saved lab-host state behind.
    b = { ...a, prefix: `${a.prefix}-b2`, keep: false, hostState: false };
    await labUp(a);
    await labUp(b);
  });
  after(async () => {
    if (b) await labDown(b);
  });

  it('keeps both up at once, each with its own folder, objects, bridge and subnet, and neither takes the other’s objects for its own', async () => {
    expect(await labAnswers(a), 'lab a answers').to.equal(true);
    expect(await labAnswers(b), 'lab b answers').to.equal(true);
    expect(await works(a)).to.equal(true);
    expect(await works(b)).to.equal(true);
    expect(labPaths(a).state).to.not.equal(labPaths(b).state);
    expect((await readState(a))?.ssh?.host, 'two lab hosts').to.not.equal((await readState(b))?.ssh?.host);
    const [na, nb] = [outerNames(a), outerNames(b)];
    const [neta, netb] = [await netOf(na.network), await netOf(nb.network)];
    expect(neta.bridge).to.not.equal(netb.bridge);
    expect(neta.ip?.split('.').slice(0, 3)).to.not.deep.equal(netb.ip?.split('.').slice(0, 3));
    expect(await auditOuter(outer, a.prefix)).to.deep.equal({ domains: [na.domain], networks: [na.network], pools: [na.pool] });
    expect(await auditOuter(outer, b.prefix)).to.deep.equal({ domains: [nb.domain], networks: [nb.network], pools: [nb.pool] });
  });

  it('takes one down and leaves the other working: its lab host, objects and state', async () => {
    const before = await readState(a);
    await labDown(b);
    expect(await auditOuter(outer, b.prefix), 'nothing of b left').to.deep.equal({ domains: [], networks: [], pools: [] });
    expect(existsSync(labPaths(b).state), 'b’s state gone').to.equal(false);
    const na = outerNames(a);
    expect(await auditOuter(outer, a.prefix)).to.deep.equal({ domains: [na.domain], networks: [na.network], pools: [na.pool] });
    expect(existsSync(labPaths(a).state) && existsSync(labPaths(a).sshKey), 'a’s state and key still there').to.equal(true);
    expect((await readState(a))?.createdAt, 'the same lab a').to.equal(before?.createdAt);
    expect(await works(a), 'lab a still works').to.equal(true);
  });
});
