import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { inputFiles, inputHash, type ImageSpec } from '../../../lib/images/image-spec.js';

describe('inputHash', () => {
  let root: string;
  const spec: ImageSpec = { name: 'guest-debian', inputs: ['packer/guest'], params: { suite: 'trixie' } };
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-hash-'));
    await mkdir(path.join(root, 'packer/guest/files'), { recursive: true });
    await writeFile(path.join(root, 'packer/guest/build.sh'), 'echo build\n');
    await writeFile(path.join(root, 'packer/guest/files/init'), 'init v1\n');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is 12 hex digits and stable for unchanged inputs', () => {
    const h = inputHash(spec, root);
    expect(h).to.match(/^[0-9a-f]{12}$/);
    expect(inputHash(spec, root)).to.equal(h);
  });

  it('changes when any file under the inputs changes', async () => {
    const before = inputHash(spec, root);
    await writeFile(path.join(root, 'packer/guest/files/init'), 'init v2\n');
    expect(inputHash(spec, root)).to.not.equal(before);
  });

  it('changes when a file is added or renamed', async () => {
    const before = inputHash(spec, root);
    await writeFile(path.join(root, 'packer/guest/files/extra'), '');
    const added = inputHash(spec, root);
    expect(added).to.not.equal(before);
    await rm(path.join(root, 'packer/guest/files/extra'));
    await writeFile(path.join(root, 'packer/guest/files/extra2'), '');
    expect(inputHash(spec, root)).to.not.equal(added);
  });

  it('changes with a param (suite, pinned version) and with the artifact name', () => {
    const h = inputHash(spec, root);
    expect(inputHash({ ...spec, params: { suite: 'bookworm' } }, root)).to.not.equal(h);
    expect(inputHash({ ...spec, name: 'guest-alpine' }, root)).to.not.equal(h);
  });

  it('does not depend on the order params are given in', () => {
    const a = inputHash({ ...spec, params: { a: '1', b: '2' } }, root);
    const b = inputHash({ ...spec, params: { b: '2', a: '1' } }, root);
    expect(a).to.equal(b);
  });

  it('lists input files sorted and relative to the root', () => {
    expect(inputFiles(spec.inputs, root)).to.deep.equal(['packer/guest/build.sh', 'packer/guest/files/init']);
  });
});
