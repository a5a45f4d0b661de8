import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Accel } from '../accel/accel-probe.js';
import type { ArtifactInfo } from './images.js';
import { QgaSocket } from './qga-socket.js';

export const READY_MARKER = 'VMSNAP_GUEST_READY';

export interface BootedImage {
  qga: QgaSocket;
  /** Milliseconds from starting QEMU to the guest agent answering guest-sync. */
  bootMs: number;
  overlay: string;
  serial(): Promise<string>;
  /** Waits for QEMU to exit by itself (after a guest shutdown), within the deadline. */
  waitForExit(deadlineMs: number): Promise<void>;
  /** Kills QEMU if still running and removes the overlay folder. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Boots a built guest image with plain QEMU, on a fresh qcow2 overlay so the
 * cached image is never written, with the guest agent on a UNIX socket.
 * For image tests on the build machine; the lab boots guests through libvirt.
 */
export async function bootImage(image: { dir: string; info: ArtifactInfo }, accel: Accel, deadlineMs: number): Promise<BootedImage> {
  const work = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-boot-'));
  const overlay = path.join(work, 'overlay.qcow2');
  const serialLog = path.join(work, 'serial.log');
  const sock = path.join(work, 'qga.sock');
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', path.join(image.dir, 'disk.qcow2'), overlay]);
  const kernelBoot =
    image.info.boot === 'kernel'
      ? ['-kernel', path.join(image.dir, 'vmlinuz'), '-initrd', path.join(image.dir, 'initrd.img'), '-append', 'console=ttyS0 quiet']
      : [];
  const started = performance.now();
  const qemu: ResultPromise = execa(
    'qemu-system-x86_64',
    [
      '-accel', accel, '-m', '256', '-nodefaults', '-display', 'none', '-no-reboot',
      '-serial', `file:${serialLog}`,
      ...kernelBoot,
      '-drive', `file=${overlay},if=virtio,format=qcow2`,
      '-device', 'virtio-serial',
      '-chardev', `socket,path=${sock},server=on,wait=off,id=qga0`,
      '-device', 'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
    ],
    { reject: false },
  );
  let stopped = false;
  let stopQga = () => {};
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    stopQga();
    qemu.kill('SIGKILL');
    await qemu;
    await rm(work, { recursive: true, force: true });
  };
  try {
    // The socket exists once QEMU runs; QgaSocket.connect retries until the agent answers.
    const qga = await Promise.race([
      QgaSocket.connect(sock, deadlineMs),
      qemu.then((r) => {
        throw new Error(`qemu exited before the guest agent answered: ${String(r.stderr).trim().split('\n').pop()}`);
      }),
    ]);
    const bootMs = Math.round(performance.now() - started);
    stopQga = () => qga.close();
    return {
      qga,
      bootMs,
      overlay,
      serial: async () => (existsSync(serialLog) ? readFile(serialLog, 'utf8') : ''),
      waitForExit: async (ms) => {
        const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`qemu still running ${ms}ms after shutdown`)), ms).unref());
        await Promise.race([qemu, timer]);
      },
      stop,
    };
  } catch (error) {
    const serial = existsSync(serialLog) ? (await readFile(serialLog, 'utf8')).slice(-2000) : '';
    await stop();
    throw new Error(`${(error as Error).message}\nserial console (tail):\n${serial}`, { cause: error });
  }
}
