import { expect } from 'chai';
import { BOX_CACHE_POOL, boxImagePath, boxVolumeName } from '../../../lib/lab/box-cache.js';
import { isLabObject } from '../../../lib/lab/lab-paths.js';

describe('box cache names', () => {
  it('names the volume as vagrant-libvirt 0.11 uploads an unversioned box (seen in a lab pool here)', () => {
    expect(boxVolumeName('vmsnap-lab/lab-host-trixie-930977a83af7', 1796218407.861)).to.equal(
      'vmsnap-lab-VAGRANTSLASH-lab-host-trixie-930977a83af7_vagrant_box_image_0_1796218407_box.img',
    );
  });

  it('a box added again (a new box.img mtime) is a new volume, so a stale upload is never reused', () => {
    expect(boxVolumeName('vmsnap-lab/x-1', 100)).not.to.equal(boxVolumeName('vmsnap-lab/x-1', 101));
  });

  it('finds box.img where `vagrant box add` puts it', () => {
    expect(boxImagePath('/root/.vagrant.d', 'vmsnap-lab/lab-host-trixie-930977a83af7')).to.equal(
      '/root/.vagrant.d/boxes/vmsnap-lab-VAGRANTSLASH-lab-host-trixie-930977a83af7/0/libvirt/box.img',
    );
  });

  it('the cache pool is no lab\'s object, so no lab-down or prefix audit takes it', () => {
    for (const prefix of ['vmsnap-lab', 'vmsnap-lab-b2', 'vmsnap']) expect(isLabObject(prefix, BOX_CACHE_POOL), prefix).to.equal(false);
  });
});
