import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getLabConfig } from '../../../lib/config.js';
import { boxName, isLabObject, labPaths, outerNames } from '../../../lib/lab/lab-paths.js';
import { networkCidr } from '../../../lib/lab/outer-libvirt.js';

// Two labs with different LAB_PREFIX values on one machine must not share a
// file, a libvirt object name, a bridge or a subnet, and neither may take the
// other's objects for its own leftovers.
describe('a lab prefix isolates: folders, names, bridge, subnet, leftovers', function () {
  let artifacts: string;
  const config = (prefix: string) => getLabConfig({ HOME: artifacts, LAB_ARTIFACTS: artifacts, LAB_PREFIX: prefix, SUT: 'none' });
  before(async () => {
    artifacts = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-paths-'));
  });
  after(async () => {
    if (artifacts) await rm(artifacts, { recursive: true, force: true });
  });

  it('keeps each lab’s state, key and vagrant dotfile folder in its own folder', () => {
    const [a, b] = [labPaths(config('vmsnap-lab')), labPaths(config('vmsnap-lab-ci'))];
    expect(a.dir).to.equal(path.join(artifacts, 'lab', 'vmsnap-lab'));
    expect(b.dir).to.equal(path.join(artifacts, 'lab', 'vmsnap-lab-ci'));
    for (const k of ['state', 'vagrantEnv', 'vagrantDotfile', 'serialLog', 'sshKey', 'poolDir'] as const) expect(a[k], k).to.not.equal(b[k]);
  });

  it('leaves a lab brought up before per-prefix folders where it is, until its lab-down', async () => {
    const legacy = path.join(artifacts, 'lab');
    await mkdir(legacy, { recursive: true });
    await writeFile(path.join(legacy, 'state.json'), JSON.stringify({ prefix: 'old-lab' }));
    try {
      expect(labPaths(config('old-lab')).state).to.equal(path.join(legacy, 'state.json'));
      expect(labPaths(config('vmsnap-lab')).dir, 'another prefix is not taken for it').to.equal(path.join(legacy, 'vmsnap-lab'));
    } finally {
      await rm(path.join(legacy, 'state.json'));
    }
  });

  it('names a bridge from the whole prefix, within Linux’s 15 characters', () => {
    const prefixes = ['vmsnap-lab', 'vmsnap-lab-ci', 'vmsnap-lab-shard-2', 'vmsnap-lab-shard-3'];
    const bridges = prefixes.map((p) => outerNames(config(p)).bridge);
    for (const b of bridges) expect(b.length, b).to.be.at.most(15);
    expect(new Set(bridges).size, bridges.join(' ')).to.equal(prefixes.length);
  });

  it('takes for its own exactly its objects and its runs’ guests, not those of a lab whose prefix starts with its own', () => {
    for (const n of ['vmsnap-lab-labhost', 'vmsnap-lab-net', 'vmsnap-lab-pool', 'vmsnap-lab-56b9de-basic-test']) expect(isLabObject('vmsnap-lab', n), n).to.equal(true);
    for (const n of ['vmsnap-lab-ci-labhost', 'vmsnap-lab-ci-net', 'vmsnap-lab-ci-pool', 'vmsnap-lab-ci-56b9de-x', 'vmsnap-lab', 'sentinel-vmsnap-lab-abc123', 'other-labhost']) {
      expect(isLabObject('vmsnap-lab', n), n).to.equal(false);
    }
    expect(isLabObject('vmsnap-lab-ci', 'vmsnap-lab-ci-labhost')).to.equal(true);
  });

  it('gives a lab the first free /24 from its slot: never one another network or route uses', () => {
    const own = networkCidr('vmsnap-lab');
    expect(own).to.match(/^192\.168\.(1[2-9]\d|2[01]\d)\.0\/24$/);
    const octet = Number(own.split('.')[2]);
    expect(networkCidr('vmsnap-lab', new Set([octet]))).to.equal(`192.168.${octet === 219 ? 120 : octet + 1}.0/24`);
    const all = new Set(Array.from({ length: 100 }, (_, i) => 120 + i));
    expect(() => networkCidr('vmsnap-lab', all)).to.throw(/no free 192\.168\.120-219\.0\/24/);
  });

  it('builds a lab-host box name in one place', () => {
    expect(boxName({ name: 'lab-host-trixie', hash: '930977a83af7' })).to.equal('vmsnap-lab/lab-host-trixie-930977a83af7');
  });
});
