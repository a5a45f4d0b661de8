import { CommandTimeoutError, type Transport } from '../transport/transport.js';
import { PROBE_MARKER, type ProbeKit } from './probe-kit.js';

export type Accel = 'kvm' | 'tcg';

export interface ProbeResult {
  accel: Accel;
  usable: boolean;
  /** One line: what happened, for doctor, logs and the report. */
  detail: string;
  durationMs: number;
}

/**
 * Boots the probe kit under one accelerator on the host behind `t` and reports
 * whether the guest reached userspace before the deadline. This is the only
 * way the lab decides about KVM: it tries, it never assumes from /dev/kvm.
 * Example: `await probeAccel(local, kit, 'kvm', 20_000)` -> `{ usable: false, ... }`.
 */
export async function probeAccel(
  t: Transport,
  kit: ProbeKit,
  accel: Accel,
  timeoutMs: number,
): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (accel === 'kvm') {
    const dev = await t.exec(['sh', '-c', 'test -c /dev/kvm && test -r /dev/kvm && test -w /dev/kvm']);
    if (dev.exitCode !== 0) {
      return { accel, usable: false, detail: 'no usable /dev/kvm on this host', durationMs: elapsed() };
    }
  }
  const argv = [
    'qemu-system-x86_64',
    '-accel', accel,
    ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m', '256',
    '-nodefaults', '-display', 'none', '-serial', 'stdio', '-no-reboot',
    '-kernel', kit.kernel,
    '-initrd', kit.initrd,
    '-append', 'console=ttyS0 quiet panic=-1',
  ];
  try {
    const r = await t.exec(argv, { timeout: timeoutMs });
    const ms = elapsed();
    if (r.stdout.includes(PROBE_MARKER)) {
      return { accel, usable: true, detail: `a guest reached userspace in ${(ms / 1000).toFixed(1)}s`, durationMs: ms };
    }
    const why = (r.stderr.trim().split('\n').pop() ?? '').slice(0, 200) || `qemu exited ${r.exitCode}`;
    return { accel, usable: false, detail: `the guest did not reach userspace: ${why}`, durationMs: ms };
  } catch (error) {
    if (error instanceof CommandTimeoutError) {
      return {
        accel,
        usable: false,
        detail: `the guest did not reach userspace within ${timeoutMs / 1000}s (the accelerator exists but does not run a normal kernel)`,
        durationMs: elapsed(),
      };
    }
    throw error;
  }
}
