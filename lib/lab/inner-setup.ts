import path from 'node:path';
import type { Accel } from '../accel/accel-probe.js';
import type { ImagesManifest } from '../images/images.js';
import { say } from '../log.js';
import { execOk, shellQuote, type PutFiles, type Transport } from '../transport/transport.js';
import { INNER_ROOT } from './lab-paths.js';

/** libvirtd answering on qemu:///system inside the lab host, started if needed. */
export async function ensureInnerLibvirt(t: Transport): Promise<void> {
  const script = `for i in $(seq 1 60); do virsh -c qemu:///system version >/dev/null 2>&1 && exit 0
  [ "$i" = 1 ] && (systemctl start libvirtd 2>/dev/null || true); sleep 1; done; exit 1`;
  const r = await t.exec(script, { timeout: 90_000 });
  if (r.exitCode !== 0) throw new Error(`libvirtd inside the lab host does not answer on qemu:///system: ${r.stderr.trim()}`);
  await execOk(t, ['mkdir', '-p', `${INNER_ROOT}/images`, `${INNER_ROOT}/guests`, `${INNER_ROOT}/backups`, `${INNER_ROOT}/tmp`, `${INNER_ROOT}/bin`]);
}

/**
 * Holds every static key a test guest would flip in the lab host, for as long
 * as it runs, when the lab host has /dev/kvm. Why: flipping a static key
 * live-patches kernel code with int3 breakpoints, and under TCG with 2 vCPUs
 * that patching races: the lab host panicked here ("Oops: int3 ... RIP:
 * __schedule", after about 10 guest starts; once more after 50 minutes).
 * Traced in the lab host (kprobe on arch_jump_label_transform_apply), each
 * guest start and stop patched code six times: the preempt notifier key (first
 * KVM VM), apic_sw_disabled (twice: vCPU created with its APIC off, the guest
 * turning it on and off), and cpusets_enabled/cpusets_pre_enable (the guest's
 * cgroup with the cpuset controller, online and offline). A unit that keeps a
 * KVM VM with an in-kernel APIC and one never-run vCPU open (its APIC stays
 * software-disabled), in a cgroup of its own with the cpuset controller on,
 * keeps each count above zero: the kernel patches once, at pin time.
 * A transient systemd unit: it ends with the lab host, nothing to clean up.
 *
 * The pin's own flips are the one patching left, and they raced too: twice a
 * booted lab host died of that Oops during the pin itself (lab-up replaced it,
 * 130 s each time). So the pin runs with every vCPU but vCPU 0 offline: with
 * nothing else running kernel code, no stale breakpoint can be hit. They are
 * brought back online however the script ends, and lab-up fails if one is not.
 */
export const STATIC_KEY_PIN_UNIT = 'vmsnap-lab-static-key-pin';

export async function pinStaticKeys(t: Transport): Promise<'pinned' | 'no kvm'> {
  const unit = STATIC_KEY_PIN_UNIT;
  // ioctls: KVM_CREATE_VM 0xAE01, KVM_CREATE_IRQCHIP 0xAE60, KVM_CREATE_VCPU 0xAE41.
  const keeper =
    "import fcntl,os,time; f=os.open('/dev/kvm',os.O_RDWR); vm=fcntl.ioctl(f,0xAE01,0); fcntl.ioctl(vm,0xAE60,0); " +
    'cpu=fcntl.ioctl(vm,0xAE41,0); time.sleep(10**9)';
  const script = `[ -e /dev/kvm ] || { echo 'no kvm'; exit 0; }
others=""
online_again() { for c in $others; do echo 1 > "$c/online" || echo "could not bring $(basename "$c") back online" >&2; done; others=""; }
trap online_again EXIT
trap 'exit 1' HUP INT TERM
if ! systemctl is-active --quiet ${unit}; then
  for c in /sys/devices/system/cpu/cpu[1-9]*; do [ -w "$c/online" ] && [ "$(cat "$c/online")" = 1 ] && others="$others $c"; done
  for c in $others; do echo 0 > "$c/online"; done
  systemd-run --quiet --unit=${unit} -p AllowedCPUs=0-$(( $(nproc --all) - 1 )) python3 -c ${shellQuote([keeper])}
fi
for i in $(seq 1 50); do
  pid=$(systemctl show -p MainPID --value ${unit})
  [ "$pid" != 0 ] && ls -l /proc/$pid/fd 2>/dev/null | grep -q kvm-vcpu && grep -qw cpuset "/sys/fs/cgroup$(cut -d: -f3 /proc/$pid/cgroup)/../cgroup.subtree_control" && {
    online_again
    on=$(cat /sys/devices/system/cpu/online) all=$(cat /sys/devices/system/cpu/present)
    [ "$on" = "$all" ] || { echo "the lab host has vCPUs $on of $all online after the static-key pin" >&2; exit 1; }
    echo pinned; exit 0
  }
  sleep 0.2
done
echo "the static-key pin did not start: $(systemctl status ${unit} 2>&1 | tail -3)" >&2; exit 1`;
  const r = await execOk(t, script, { timeout: 60_000 });
  return r.stdout.includes('pinned') ? 'pinned' : 'no kvm';
}

/** The test-guest image in the lab host, copied once per image hash. Returns its folder there. */
export async function ensureGuestImage(t: Transport, put: PutFiles, manifest: ImagesManifest): Promise<string> {
  const g = manifest.guest;
  const dest = `${INNER_ROOT}/images/${g.name}-${g.hash}`;
  if ((await t.exec(['test', '-f', `${dest}/info.json`])).exitCode === 0) {
    say(`lab: guest image ${path.basename(dest)} already in the lab host`);
    return dest;
  }
  say(`lab: copying guest image ${path.basename(dest)} into the lab host...`);
  const tmp = `${dest}.tmp`;
  await execOk(t, ['rm', '-rf', tmp]);
  await execOk(t, ['mkdir', '-p', tmp]);
  await put([...Object.keys(g.files), 'info.json'].map((f) => ({ local: path.join(g.dir, f), remote: `${tmp}/${f}` })));
  // Readable by libvirt's qemu user (direct kernel boot and backing file).
  await execOk(t, `chmod 755 ${shellQuote([tmp])} && chmod 644 ${shellQuote([tmp])}/* && rm -rf ${shellQuote([dest])} && mv ${shellQuote([tmp, dest])}`);
  return dest;
}

const READY = 'VMSNAP_GUEST_READY';

/**
 * Boots the test-guest image in the lab host under one accelerator (plain QEMU,
 * on a throw-away overlay) and says whether it reached userspace in time, and
 * how long it took. The inner KVM decision comes from this, never from /dev/kvm.
 */
export async function probeInner(t: Transport, imageDir: string, boot: 'disk' | 'kernel', accel: Accel, timeoutS: number) {
  const kernel = boot === 'kernel' ? `-kernel ${imageDir}/vmlinuz -initrd ${imageDir}/initrd.img -append 'console=ttyS0 quiet'` : '';
  const cpu = accel === 'kvm' ? '-cpu host' : '';
  const script = `set -u
d=$(mktemp -d ${INNER_ROOT}/tmp/probe.XXXXXX)
trap '[ -f "$d/pid" ] && kill -9 $(cat "$d/pid") 2>/dev/null; rm -rf "$d"' EXIT
qemu-img create -q -f qcow2 -F qcow2 -b ${imageDir}/disk.qcow2 "$d/o.qcow2"
start=$(date +%s%N)
qemu-system-x86_64 -accel ${accel} ${cpu} -m 256 -nodefaults -display none -no-reboot \\
  -serial "file:$d/serial" ${kernel} -drive "file=$d/o.qcow2,if=virtio,format=qcow2" \\
  -daemonize -pidfile "$d/pid" 2>"$d/err" || { echo "FAIL qemu: $(tail -n1 "$d/err")"; exit 0; }
while :; do
  if grep -q -a ${READY} "$d/serial" 2>/dev/null; then echo "OK $(( ($(date +%s%N) - start) / 1000000 ))"; exit 0; fi
  if ! kill -0 $(cat "$d/pid") 2>/dev/null; then echo "FAIL qemu exited: $(tail -n1 "$d/err")"; exit 0; fi
  if [ $(( ($(date +%s%N) - start) / 1000000000 )) -ge ${timeoutS} ]; then echo "FAIL no userspace within ${timeoutS}s"; exit 0; fi
  sleep 0.5
done`;
  const r = await execOk(t, script, { timeout: (timeoutS + 60) * 1000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (line.startsWith('OK ')) {
    const ms = Number(line.slice(3));
    return { accel, usable: true, bootMs: ms, detail: `a test guest reached userspace in ${(ms / 1000).toFixed(1)}s` };
  }
  return { accel, usable: false, bootMs: undefined, detail: line.replace(/^FAIL /, '') || r.stderr.trim() };
}

export async function innerVersions(t: Transport): Promise<Record<string, string>> {
  const q = async (script: string) => (await t.exec(script)).stdout.trim().split('\n')[0] ?? '';
  return {
    virtnbdbackup: await q('virtnbdbackup --version 2>&1 | grep -o "[0-9][0-9.]*" | head -n1'),
    libvirt: await q("virsh -c qemu:///system version --daemon | sed -n 's/.*daemon: //p'"),
    qemu: await q("qemu-system-x86_64 --version | sed -n 's/QEMU emulator version //p'"),
    kernel: await q('uname -r'),
    node: await q('node --version'),
  };
}
