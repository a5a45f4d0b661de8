import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { artifactDir, decide, finishBuild, MACHINE_CACHE_KEEP, readInfo, startBuild, storeInMachineCache, takeFromMachineCache } from '../../../lib/images/artifact-cache.js';
import { stat, utimes } from 'node:fs/promises';

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

describe('the machine-wide image cache', () => {
  let root: string;
  let machine: string;
  const files = ['disk.qcow2'];
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-machine-cache-'));
    machine = path.join(root, 'machine');
    await mkdir(machine);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function built(checkout: string, hash: string): Promise<string> {
    const dir = artifactDir(path.join(root, checkout), 'guest', hash);
    const tmp = await startBuild(dir);
    await writeFile(path.join(tmp, 'disk.qcow2'), `disk ${hash}`);
    await finishBuild(tmp, dir, { hash });
    return dir;
  }

  it('gives a second checkout the artifact the first one built from the same inputs, whole and as the same files', async () => {
    const first = await built('a', 'aaaaaaaaaaaa');
    expect(await storeInMachineCache(machine, first, 'guest')).to.deep.equal([]);
    const second = artifactDir(path.join(root, 'b'), 'guest', 'aaaaaaaaaaaa');
    expect(await takeFromMachineCache(machine, second, files)).to.equal(true);
    expect(decide(path.join(root, 'b'), 'guest', 'aaaaaaaaaaaa', files, false).action).to.equal('up-to-date');
    expect(await readInfo(second)).to.deep.equal({ hash: 'aaaaaaaaaaaa' });
    // Hard links on one filesystem: no second copy of a gigabyte box.
    expect((await stat(path.join(second, 'disk.qcow2'))).ino).to.equal((await stat(path.join(first, 'disk.qcow2'))).ino);
  });

  it('has nothing for other inputs, nor for an artifact that is not whole (no info.json)', async () => {
    await storeInMachineCache(machine, await built('a', 'aaaaaaaaaaaa'), 'guest');
    expect(await takeFromMachineCache(machine, artifactDir(path.join(root, 'b'), 'guest', 'bbbbbbbbbbbb'), files)).to.equal(false);
    await rm(path.join(machine, 'guest-aaaaaaaaaaaa', 'info.json'));
    expect(await takeFromMachineCache(machine, artifactDir(path.join(root, 'b'), 'guest', 'aaaaaaaaaaaa'), files)).to.equal(false);
    expect(existsSync(artifactDir(path.join(root, 'b'), 'guest', 'aaaaaaaaaaaa'))).to.equal(false);
  });

  it(`keeps the ${MACHINE_CACHE_KEEP} newest artifacts of a name and drops the older ones`, async () => {
    const hashes = ['111111111111', '222222222222', '333333333333'];
    for (const [i, h] of hashes.entries()) {
      await storeInMachineCache(machine, await built('a', h), 'guest');
      // Stamp each older than the next, as the days they were built on would.
      const t = new Date(Date.now() - (hashes.length - i) * 60_000);
      await utimes(path.join(machine, `guest-${h}`), t, t);
    }
    expect((await readdir(machine)).sort(), 'the third dropped the oldest').to.deep.equal(['guest-222222222222', 'guest-333333333333']);
    const dropped = await storeInMachineCache(machine, await built('a', '444444444444'), 'guest');
    expect(dropped.map((d) => path.basename(d))).to.deep.equal(['guest-222222222222']);
    expect((await readdir(machine)).sort()).to.deep.equal(['guest-333333333333', 'guest-444444444444']);
  });
});
