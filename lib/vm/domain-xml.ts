import type { Accel } from '../accel/accel-probe.js';

export interface DomainSpec {
  name: string;
  disk: string;
  accel: Accel;
  memoryMiB: number;
  /** Direct kernel boot (offline guest image) or boot from the disk (Alpine). */
  kernel?: { kernel: string; initrd: string; cmdline: string };
  serialLog: string;
  /** Extra disks after vda (vdb, vdc... in this order): virtnbdbackup skips raw ones unless --raw. */
  extraDisks?: ExtraDisk[];
}

/** A disk of a test guest besides vda. */
export interface ExtraDisk {
  target: string;
  path: string;
  format: 'qcow2' | 'raw';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

/**
 * A test guest as the plan describes it (one vCPU, small memory, one virtio disk
 * `vda`), plus the guest agent channel VMSnap/virtnbdbackup use to freeze file
 * systems, and a serial log for diagnosis. type='kvm' only where the inner probe
 * found KVM working. No network interface: nothing in the tests needs one.
 */
export function domainXml(d: DomainSpec): string {
  const kvm = d.accel === 'kvm';
  const boot = d.kernel
    ? `<kernel>${esc(d.kernel.kernel)}</kernel><initrd>${esc(d.kernel.initrd)}</initrd><cmdline>${esc(d.kernel.cmdline)}</cmdline>`
    : `<boot dev='hd'/>`;
  return `<domain type='${kvm ? 'kvm' : 'qemu'}'>
  <name>${esc(d.name)}</name>
  <memory unit='MiB'>${d.memoryMiB}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>${boot}</os>
  <features><acpi/></features>
  ${kvm ? "<cpu mode='host-passthrough'/>" : ''}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${esc(d.disk)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
${(d.extraDisks ?? []).map((x) => `    <disk type='file' device='disk'><driver name='qemu' type='${x.format}'/><source file='${esc(x.path)}'/><target dev='${x.target}' bus='virtio'/></disk>\n`).join('')}    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <serial type='file'><source path='${esc(d.serialLog)}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}
