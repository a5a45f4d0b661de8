import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { fingerprint, MANIFEST, sutDiff, sutLabel, type SutFingerprint } from '../../../lib/lab/sut-sync.js';

describe('sut-sync: what a VMSnap checkout is now, and what differs from the lab host', function () {
  let src: string;
  const git = (...args: string[]) => execa('git', ['-C', src, '-c', 'user.email=t@localhost', '-c', 'user.name=t', ...args]);

  beforeEach(async () => {
    src = await mkdtemp(path.join(tmpdir(), 'sut-sync-unit-'));
    await writeFile(path.join(src, 'package.json'), '{"version":"2.0.3"}');
    await writeFile(path.join(src, 'package-lock.json'), '{"lockfileVersion":3}');
    await writeFile(path.join(src, 'vmsnap.js'), 'console.log(1)\n');
    await mkdir(path.join(src, 'node_modules/dep'), { recursive: true });
    await writeFile(path.join(src, 'node_modules/dep/index.js'), '');
    await writeFile(path.join(src, MANIFEST), '{}');
  });
  afterEach(() => rm(src, { recursive: true, force: true }));

  it('lists every installed file with its hash, leaving out node_modules, .git and the manifest', async () => {
    const fp = await fingerprint(src);
    expect(Object.keys(fp.files)).to.deep.equal(['package-lock.json', 'package.json', 'vmsnap.js']);
    expect(fp.version).to.equal('2.0.3');
    expect(fp.commit).to.equal('unknown (not a git checkout)');
    expect(fp.changes).to.equal(undefined);
    expect(fp.lockHash).to.match(/^[0-9a-f]{64}$/);
  });

  it('names the commit, and uncommitted changes by a hash that changes with them', async () => {
    await git('init', '-q');
    await git('add', 'package.json', 'package-lock.json', 'vmsnap.js');
    await git('commit', '-qm', 'one');
    // node_modules and the manifest are untracked here: they must not count as changes.
    await writeFile(path.join(src, '.gitignore'), 'node_modules\n.vmsnap-lab-sut.json\n');
    await git('add', '.gitignore');
    await git('commit', '-qm', 'ignore');
    const clean = await fingerprint(src);
    expect(clean.commit).to.match(/^[0-9a-f]{40}$/);
    expect(clean.changes).to.equal(undefined);
    expect(sutLabel(clean)).to.equal(`2.0.3 (${clean.commit.slice(0, 12)})`);

    await writeFile(path.join(src, 'vmsnap.js'), 'console.log(2)\n');
    const edited = await fingerprint(src);
    expect(edited.commit).to.equal(clean.commit);
    expect(edited.changes).to.match(/^[0-9a-f]{64}$/);
    expect(sutLabel(edited)).to.equal(`2.0.3 (${clean.commit.slice(0, 12)}+changes ${edited.changes!.slice(0, 8)})`);

    await writeFile(path.join(src, 'vmsnap.js'), 'console.log(3)\n');
    expect((await fingerprint(src)).changes, 'another edit, another hash').to.not.equal(edited.changes);
    await writeFile(path.join(src, 'vmsnap.js'), 'console.log(1)\n');
    await writeFile(path.join(src, 'new.js'), '');
    expect((await fingerprint(src)).changes, 'an untracked file is a change').to.match(/^[0-9a-f]{64}$/);
  });

  it('diffs file by file, and asks for a whole install when nothing is installed or the lockfile changed', () => {
    const fp = (files: Record<string, string>, lockHash = 'L'): SutFingerprint => ({ version: '1', commit: 'c', lockHash, files });
    const installed = fp({ 'a.js': '1', 'b.js': '2', 'gone.js': '3' });
    expect(sutDiff(undefined, installed).reinstall).to.equal('nothing installed yet');
    expect(sutDiff(installed, fp({ 'a.js': '1' }, 'M')).reinstall).to.equal('package-lock.json changed');
    expect(sutDiff(installed, installed)).to.deep.equal({ reinstall: undefined, changed: [], removed: [] });
    expect(sutDiff(installed, fp({ 'a.js': '1', 'b.js': '9', 'new.js': '4' }))).to.deep.equal({ reinstall: undefined, changed: ['b.js', 'new.js'], removed: ['gone.js'] });
  });
});
