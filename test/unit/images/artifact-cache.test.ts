import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { artifactDir, decide, finishBuild, readInfo, startBuild } from '../../../lib/images/artifact-cache.js';

describe('artifact cache decisions', () => {
  let images: string;
  const files = ['disk.qcow2'];
  beforeEach(async () => {
    images = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-cache-'));
  });
  afterEach(async () => {
    await rm(images, { recursive: true, force: true });
  });

  async function finished(name: string, hash: string) {
    const tmp = await startBuild(artifactDir(images, name, hash));
    await writeFile(path.join(tmp, 'disk.qcow2'), 'x');
    await finishBuild(tmp, artifactDir(images, name, hash), { hash });
  }

  it('builds what was never built', () => {
    expect(decide(images, 'guest', 'aaaaaaaaaaaa', files, false)).to.include({ action: 'build', reason: 'not built yet' });
  });

  it('does nothing for a finished artifact with the same hash', async () => {
    await finished('guest', 'aaaaaaaaaaaa');
    const d = decide(images, 'guest', 'aaaaaaaaaaaa', files, false);
    expect(d).to.include({ action: 'up-to-date', reason: 'up to date (guest-aaaaaaaaaaaa)' });
    expect(await readInfo(d.dir)).to.deep.equal({ hash: 'aaaaaaaaaaaa' });
  });

  it('rebuilds with FORCE even when up to date', async () => {
    await finished('guest', 'aaaaaaaaaaaa');
    expect(decide(images, 'guest', 'aaaaaaaaaaaa', files, true)).to.include({ action: 'build', reason: 'FORCE=1' });
  });

  it('rebuilds when the inputs changed and names the superseded artifact as stale', async () => {
    await finished('guest', 'aaaaaaaaaaaa');
    await finished('guest-other', 'cccccccccccc');
    const d = decide(images, 'guest', 'bbbbbbbbbbbb', files, false);
    expect(d.action).to.equal('build');
    expect(d.reason).to.equal('inputs changed (had guest-aaaaaaaaaaaa)');
    expect(d.stale).to.deep.equal([path.join(images, 'guest-aaaaaaaaaaaa')]);
  });

  it('never takes a folder without info.json, or missing a file, for a finished artifact', async () => {
    const dir = artifactDir(images, 'guest', 'aaaaaaaaaaaa');
    await mkdir(dir);
    await writeFile(path.join(dir, 'disk.qcow2'), 'half');
    expect(decide(images, 'guest', 'aaaaaaaaaaaa', files, false)).to.include({ action: 'build', reason: 'guest-aaaaaaaaaaaa is incomplete' });
    await writeFile(path.join(dir, 'info.json'), '{}');
    await rm(path.join(dir, 'disk.qcow2'));
    expect(decide(images, 'guest', 'aaaaaaaaaaaa', files, false).action).to.equal('build');
  });

  it('leaves an interrupted build only as a .tmp folder, swept by the next build', async () => {
    const dir = artifactDir(images, 'guest', 'aaaaaaaaaaaa');
    const interrupted = await startBuild(dir);
    await writeFile(path.join(interrupted, 'disk.qcow2'), 'partial');
    // The process dies here: nothing is renamed, nothing looks finished.
    expect(existsSync(dir)).to.equal(false);
    expect(decide(images, 'guest', 'aaaaaaaaaaaa', files, false).action).to.equal('build');
    const next = await startBuild(dir);
    expect((await readdir(images)).filter((e) => e.startsWith('.tmp-'))).to.deep.equal([path.basename(next)]);
  });
});
