import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { getLabConfig } from '../../lib/config.js';
import { imagesDir, type ImagesManifest } from '../../lib/images/images.js';

// What vagrant-libvirt reads from a box: metadata.json (provider libvirt, format
// qcow2, virtual_size in GB), a qcow2 box.img of at least that virtual size, and
// an optional Vagrantfile. The box is also added and booted by the lab suite.
const manifest = JSON.parse(readFileSync(path.join(imagesDir(getLabConfig()), 'manifest.json'), 'utf8')) as ImagesManifest;
const box = manifest.labHost;
// Without a box (LAB_PROVIDER=local builds the guest only) these are reported as
// pending, the reason in the suite's title.
const describeBox = box ? describe : describe.skip;

describeBox(`Lab-host box (vagrant-libvirt format)${box ? '' : ' - not run: no lab-host box built (LAB_PROVIDER=local)'}`, function () {
  this.timeout(120_000);
  const labHost = box as NonNullable<ImagesManifest['labHost']>;
  let tmp: string;
  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-box-'));
    await execa('tar', ['-xf', path.join(labHost.dir, 'lab-host.box'), '-C', tmp, 'metadata.json', 'Vagrantfile']);
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('is a tar holding exactly metadata.json, Vagrantfile and box.img', async () => {
    const r = await execa('tar', ['-tf', path.join(labHost.dir, 'lab-host.box')]);
    expect(r.stdout.trim().split('\n').sort()).to.deep.equal(['Vagrantfile', 'box.img', 'metadata.json']);
  });

  it('has metadata.json as vagrant-libvirt expects it', async () => {
    const meta = JSON.parse(await readFile(path.join(tmp, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).to.have.keys(['provider', 'format', 'virtual_size']);
    expect(meta).to.include({ provider: 'libvirt', format: 'qcow2' });
    expect(meta.virtual_size).to.be.a('number').and.to.be.at.least(8);
  });

  it('has a qcow2 box.img whose virtual size matches the metadata', async () => {
    const meta = JSON.parse(await readFile(path.join(tmp, 'metadata.json'), 'utf8')) as { virtual_size: number };
    const r = await execa('sh', ['-c', `tar -xOf '${path.join(labHost.dir, 'lab-host.box')}' box.img | head -c 1048576 > '${tmp}/head.img' && qemu-img info --output=json '${tmp}/head.img'`]);
    const info = JSON.parse(r.stdout) as { format: string; 'virtual-size': number };
    expect(info.format).to.equal('qcow2');
    expect(info['virtual-size']).to.equal(meta.virtual_size * 2 ** 30);
  });

  it('ships a Vagrantfile that disables the default synced folder (no rsync/NFS into the lab host)', async () => {
    expect(await readFile(path.join(tmp, 'Vagrantfile'), 'utf8')).to.match(/synced_folder "\.", "\/vagrant", disabled: true/);
  });

  it('records the versions the lab host carries (virtnbdbackup with --start-domain, libvirt, QEMU, Node)', () => {
    const v = labHost.versions;
    expect(v).to.have.property('virtnbdbackup');
    expect(Number((v.virtnbdbackup as string).split('.')[0])).to.be.at.least(2);
    expect(v).to.include.keys('libvirt-daemon-system', 'qemu-system-x86', 'nodejs');
  });
});
