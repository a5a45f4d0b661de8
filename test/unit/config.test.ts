import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, getLabConfig } from '../../lib/config.js';

/** The error lines for an environment, or [] when it is valid. */
function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    getLabConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('getLabConfig', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-config-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('gives defaults for an empty environment, with no SUT and the reason why', () => {
    const c = getLabConfig({ HOME: home });
    expect(c).to.include({ provider: 'vagrant', keep: false, imageSource: 'auto', labSuite: 'trixie', prefix: 'vmsnap-lab', vmParallel: 3 });
    expect(c.cacheDir).to.equal(path.join(home, '.cache', 'vmsnap-lab'));
    expect(c.sut.kind).to.equal('none');
    expect(c.sut.kind === 'none' && c.sut.reason).to.match(/set VMSNAP_SRC=.*or set SUT=none/);
  });

  it('reads each variable it knows', () => {
    const c = getLabConfig({ HOME: home, LAB_PROVIDER: 'local', LAB_KEEP: '1', LAB_CPUS: '1', LAB_MEMORY: '2048', IMAGE_SOURCE: 'debian', LAB_SUITE: 'bookworm', LAB_PREFIX: 'mylab', LAB_VM_PARALLEL: '2', LAB_KVM_PROBE_TIMEOUT: '5', LAB_DEBIAN_MIRROR: 'http://mirror.invalid/debian' });
    expect(c).to.include({ provider: 'local', keep: true, cpus: 1, memoryMiB: 2048, imageSource: 'debian', labSuite: 'bookworm', prefix: 'mylab', vmParallel: 2, kvmProbeTimeoutMs: 5000, debianMirror: 'http://mirror.invalid/debian' });
  });

  it('reads SHARD=i/n; without it the run is whole', () => {
    expect(getLabConfig({ HOME: home, SHARD: '2/3' }).shard).to.deep.equal({ index: 2, total: 3 });
    expect(getLabConfig({ HOME: home }).shard).to.equal(undefined);
  });

  it('treats an empty variable as unset', () => {
    expect(getLabConfig({ HOME: home, LAB_PROVIDER: '' }).provider).to.equal('vagrant');
  });

  const bad: [string, string, RegExp][] = [
    ['LAB_PROVIDER', 'docker', /^LAB_PROVIDER="docker": must be "vagrant" \(default\) or "local"$/],
    ['LAB_CPUS', 'many', /^LAB_CPUS="many": must be a whole number from 1 to \d+/],
    ['LAB_CPUS', '0', /^LAB_CPUS="0": must be a whole number from 1/],
    ['LAB_CPUS', '4096', /^LAB_CPUS="4096": must be a whole number/],
    ['LAB_MEMORY', '512', /^LAB_MEMORY="512": must be a whole number from 1024/],
    ['LAB_KEEP', 'maybe', /^LAB_KEEP="maybe": /],
    ['SUT', 'vmsnap', /^SUT="vmsnap": must be "auto" \(default\) or "none"/],
    ['IMAGE_SOURCE', 'ubuntu', /^IMAGE_SOURCE="ubuntu": must be auto, alpine or debian$/],
    ['LAB_PREFIX', 'Bad Prefix', /^LAB_PREFIX="Bad Prefix": must be 3-24 characters/],
    ['VMSNAP_GIT', 'not a url', /^VMSNAP_GIT="not a url": must be a git URL/],
    ['LAB_DEBIAN_MIRROR', 'mirror', /^LAB_DEBIAN_MIRROR="mirror": must be a URL/],
    ['SHARD', '3/2', /^SHARD="3\/2": must be i\/n with 1 <= i <= n \(example: SHARD=1\/2\)$/],
  ];
  for (const [key, value, pattern] of bad) {
    it(`rejects ${key}=${value} with one line naming it`, () => {
      const lines = problems({ HOME: home, [key]: value });
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(pattern);
    });
  }

  it('reports every bad variable at once, one line each', () => {
    const lines = problems({ HOME: home, LAB_PROVIDER: 'x', LAB_CPUS: 'y', IMAGE_SOURCE: 'z' });
    expect(lines.map((l) => l.split('=')[0])).to.have.members(['LAB_PROVIDER', 'LAB_CPUS', 'IMAGE_SOURCE']);
  });

  it('rejects a VMSNAP_SRC that is not a VMSnap checkout, saying what to do', () => {
    const lines = problems({ HOME: home, VMSNAP_SRC: '/nonexistent/vmsnap' });
    expect(lines).to.deep.equal([
      'VMSNAP_SRC="/nonexistent/vmsnap": no VMSnap checkout there (expected package.json and vmsnap.js); point it at a clone of slackdaystudio/vmsnap',
    ]);
  });

  it('rejects VMSNAP_REF without VMSNAP_GIT', () => {
    expect(problems({ HOME: home, VMSNAP_REF: 'v1.0' })[0]).to.match(/^VMSNAP_REF="v1.0": only means something with VMSNAP_GIT/);
  });

  it('takes the SUT from VMSNAP_SRC, then VMSNAP_GIT, then the cached checkout; SUT=none wins', async () => {
    const cached = path.join(home, 'xdg', 'vmsnap-lab', 'vmsnap');
    await mkdir(cached, { recursive: true });
    await writeFile(path.join(cached, 'package.json'), '{}');
    await writeFile(path.join(cached, 'vmsnap.js'), '');
    const base = { HOME: home, XDG_CACHE_HOME: path.join(home, 'xdg') };
    expect(getLabConfig(base).sut).to.deep.equal({ kind: 'src', path: cached });
    expect(getLabConfig({ ...base, VMSNAP_GIT: 'https://example.invalid/vmsnap.git' }).sut).to.deep.equal({ kind: 'git', url: 'https://example.invalid/vmsnap.git', ref: 'main' });
    expect(getLabConfig({ ...base, VMSNAP_GIT: 'https://example.invalid/v.git', VMSNAP_REF: 'v2.0.1', VMSNAP_SRC: cached }).sut).to.deep.equal({ kind: 'src', path: cached });
    expect(getLabConfig({ ...base, SUT: 'none' }).sut.kind).to.equal('none');
  });
});
