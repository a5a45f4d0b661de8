import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { CleanupRegistry } from '../../lib/cleanup/cleanup-registry.js';
import { getLabConfig } from '../../lib/config.js';
import { bootImage, READY_MARKER, type BootedImage } from '../../lib/images/boot-image.js';
import { readManifest, type ImagesManifest } from '../../lib/images/images.js';
import { recordMeasurement } from '../support/measurements.js';

// The guest image's contract, on the real image `make images` built, booted by
// real QEMU under TCG: it boots unattended to a guest agent that answers ping and
// exec, and what is written inside lands on vda.
describe('Test-guest image (booted with QEMU under TCG)', function () {
  this.timeout(300_000);
  const cleanup = new CleanupRegistry();
  let manifest: ImagesManifest;
  let vm: BootedImage;
  let diskMtime: number;

  before(async () => {
    manifest = await readManifest(getLabConfig());
    diskMtime = (await stat(path.join(manifest.guest.dir, 'disk.qcow2'))).mtimeMs;
    vm = await bootImage({ dir: manifest.guest.dir, info: manifest.guest }, 'tcg', 180_000);
    cleanup.register('qemu test guest', () => vm.stop());
    recordMeasurement('guest boot to agent, single-level TCG (s)', vm.bootMs / 1000);
  });
  after(async () => {
    await cleanup.releaseAllOrThrow();
  });

  it(`boots unattended to a guest agent that answers guest-ping (bound: 180 s)`, async () => {
    await vm.qga.ping();
    expect(await vm.serial()).to.include(READY_MARKER);
  });

  it('runs a program through guest-exec and returns its output and exit code', async () => {
    const r = await vm.qga.exec('/bin/sh', ['-c', 'cat /etc/vmsnap-lab-guest 2>/dev/null || cat /etc/alpine-release; echo "sum=$((6 * 7))"; exit 3']);
    expect(r.exitCode).to.equal(3);
    expect(r.stdout).to.match(/sum=42\n$/);
  });

  it('writes a file through guest-file-* and sync; after shutdown the bytes are on vda', async () => {
    const content = `vmsnap-lab ${Date.now()} ${'x'.repeat(100)}\n`;
    const handle = await vm.qga.command<number>('guest-file-open', { path: '/root/written-by-test', mode: 'w' });
    await vm.qga.command('guest-file-write', { handle, 'buf-b64': Buffer.from(content).toString('base64') });
    await vm.qga.command('guest-file-close', { handle });
    expect((await vm.qga.exec('/bin/sync', [])).exitCode).to.equal(0);
    // guest-shutdown has no reply; the guest powers off and QEMU exits (-no-reboot).
    void vm.qga.command('guest-shutdown', { mode: 'powerdown' }, 60_000).catch(() => undefined);
    await vm.waitForExit(60_000);
    // Read the file back from the overlay's ext4, outside the guest: proof it reached vda.
    const tmp = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-raw-'));
    try {
      const raw = path.join(tmp, 'disk.raw');
      await execa('qemu-img', ['convert', '-O', 'raw', vm.overlay, raw]);
      if (manifest.guest.boot === 'kernel') {
        const r = await execa('debugfs', ['-R', 'cat /root/written-by-test', raw]);
        expect(r.stdout + '\n').to.equal(content);
      } else {
        // A self-booting (Alpine) disk is partitioned: look for the bytes instead.
        const r = await execa('grep', ['-c', '-a', content.trim(), raw], { reject: false });
        expect(Number(r.stdout)).to.be.greaterThan(0);
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('leaves the cached image untouched (guests run on overlays)', async () => {
    expect((await stat(path.join(manifest.guest.dir, 'disk.qcow2'))).mtimeMs).to.equal(diskMtime);
  });
});
