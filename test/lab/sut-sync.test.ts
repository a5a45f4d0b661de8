import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { INNER_ROOT } from '../../lib/lab/lab-paths.js';
import { MANIFEST, syncCheckout } from '../../lib/lab/sut-sync.js';
import { execOk } from '../../lib/transport/transport.js';
import { lab } from '../support/lab-fixture.js';

// A kept lab must test the checkout as it is now. The thing under test here is
// the sync, so the checkout is a small one of our own (a vmsnap.js that prints
// what it is, a package.json and lockfile without dependencies), synced into a
// folder of this run in the lab host, edited on this machine and run there.
describe('Lab: the VMSnap copy in the lab host follows the checkout', function () {
  let src: string;
  let root: string;
  const t = () => lab().lab.transport;
  const sync = () => syncCheckout(t(), lab().lab.put, src, root);
  const runThere = async () => (await execOk(t(), ['node', `${root}/vmsnap.js`])).stdout.trim();
  const lockfile = (name: string) => JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name, version: '1.0.0' } } });

  before(async () => {
    src = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-fake-sut-'));
    root = `${INNER_ROOT}/tmp/${lab().runId}-sut`;
    lab().cleanup.register(`fake SUT ${root}`, async () => {
      await execOk(t(), ['rm', '-rf', root, `${root}.upload.tar.gz`]);
    });
    lab().cleanup.register(`fake SUT checkout ${src}`, () => rm(src, { recursive: true, force: true }));
    await mkdir(path.join(src, 'libs'));
    await writeFile(path.join(src, 'package.json'), JSON.stringify({ name: 'fake-sut', version: '1.0.0', type: 'module' }));
    await writeFile(path.join(src, 'package-lock.json'), lockfile('fake-sut'));
    await writeFile(path.join(src, 'libs/word.js'), "export const word = 'one';\n");
    await writeFile(path.join(src, 'vmsnap.js'), "import { word } from './libs/word.js';\nconsole.log(word);\n");
    await execa('git', ['init', '-q', src]);
    await execa('git', ['-C', src, '-c', 'user.email=lab@localhost', '-c', 'user.name=lab', 'add', '-A']);
    await execa('git', ['-C', src, '-c', 'user.email=lab@localhost', '-c', 'user.name=lab', 'commit', '-qm', 'fake sut']);
  });

  it('installs the checkout whole the first time (npm ci), with a manifest of what is there', async () => {
    const r = await sync();
    expect(r.action, r.why).to.equal('installed');
    expect(r.why).to.equal('nothing installed yet');
    expect(await runThere()).to.equal('one');
    const manifest = JSON.parse((await execOk(t(), ['cat', `${root}/${MANIFEST}`])).stdout) as { commit: string; changes?: string };
    expect(manifest.commit).to.match(/^[0-9a-f]{40}$/);
    expect(manifest.changes).to.equal(undefined);
  });

  it('finds nothing to do when the checkout did not change', async () => {
    const r = await sync();
    expect(r.action).to.equal('current');
    expect(r.changed).to.deep.equal([]);
  });

  it('copies exactly the file that was edited, and the lab host runs the new code', async () => {
    await writeFile(path.join(src, 'libs/word.js'), "export const word = 'two';\n");
    const r = await sync();
    expect(r.action, r.why).to.equal('synced');
    expect(r.changed).to.deep.equal(['libs/word.js']);
    expect(r.removed).to.deep.equal([]);
    expect(r.fp.changes, 'an uncommitted change is named').to.match(/^[0-9a-f]{64}$/);
    expect(await runThere()).to.equal('two');
  });

  it('adds new files and removes deleted ones', async () => {
    await mkdir(path.join(src, 'libs/deep'), { recursive: true });
    await writeFile(path.join(src, 'libs/deep/extra.js'), "export const extra = 'three';\n");
    await writeFile(path.join(src, 'vmsnap.js'), "import { extra } from './libs/deep/extra.js';\nconsole.log(extra);\n");
    await unlink(path.join(src, 'libs/word.js'));
    const r = await sync();
    expect(r.action, r.why).to.equal('synced');
    expect(r.changed.sort()).to.deep.equal(['libs/deep/extra.js', 'vmsnap.js']);
    expect(r.removed).to.deep.equal(['libs/word.js']);
    expect(await runThere()).to.equal('three');
    expect((await t().exec(['test', '-e', `${root}/libs/word.js`])).exitCode, 'the deleted file is gone in the lab host').to.equal(1);
  });

  it('installs whole again when the lockfile changed (new dependencies)', async () => {
    await writeFile(path.join(src, 'package-lock.json'), lockfile('fake-sut').replace('"requires":true', '"requires":false'));
    const r = await sync();
    expect(r.action, r.why).to.equal('installed');
    expect(r.why).to.equal('package-lock.json changed');
    expect(await runThere()).to.equal('three');
  });

  it('installs whole when a sync was cut short (no manifest in the lab host)', async () => {
    await execOk(t(), ['rm', '-f', `${root}/${MANIFEST}`]);
    const r = await sync();
    expect(r.action).to.equal('installed');
    expect(r.why).to.equal('nothing installed yet');
  });
});
