import { statfs } from 'node:fs/promises';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { probeAccel } from '../accel/accel-probe.js';
import { ensureProbeKit } from '../accel/probe-kit.js';
import type { LabConfig } from '../config.js';
import { readManifest } from '../images/images.js';
import { readState } from '../lab/lab-state.js';
import { driverFor, PreflightError } from '../lab/drivers/index.js';
import { isHealthy } from '../lab/lab-up.js';
import { CommandTimeoutError, type Transport } from '../transport/transport.js';

export type CheckStatus = 'ok' | 'missing' | 'info';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was found (a version, a count) or what is wrong. */
  detail: string;
  /** How to fix it, when status is `missing`. */
  fix?: string;
}

export interface Check {
  name: string;
  /** A required check that fails makes doctor exit non-zero. */
  required: boolean;
  run(t: Transport, config: LabConfig): Promise<Omit<CheckResult, 'name'>>;
}

const firstLine = (s: string) => s.trim().split('\n')[0] ?? '';

/** A check that a program runs and prints its version. */
function program(name: string, argv: string[], fix: string): Check {
  return {
    name,
    required: true,
    async run(t) {
      try {
        const r = await t.exec(argv, { timeout: 30_000 });
        if (r.exitCode === 0) return { status: 'ok', detail: firstLine(r.stdout || r.stderr) };
        return { status: 'missing', detail: firstLine(r.stderr) || `exit ${r.exitCode}`, fix };
      } catch (error) {
        if (error instanceof CommandTimeoutError) return { status: 'missing', detail: 'did not answer in 30s', fix };
        throw error;
      }
    },
  };
}

const MIN_FREE_GIB = 10;

export const CHECKS: Check[] = [
  {
    name: 'node',
    required: true,
    async run() {
      const major = Number(process.versions.node.split('.')[0]);
      return major >= 20
        ? { status: 'ok', detail: `v${process.versions.node}` }
        : { status: 'missing', detail: `v${process.versions.node} is too old`, fix: 'install Node 20 or newer' };
    },
  },
  {
    // What `make lab-up` checks first: the provider's own preflight, so doctor and lab-up never disagree.
    name: 'provider',
    required: true,
    async run(_t, config) {
      try {
        return { status: 'ok', detail: `${config.provider}: ${await driverFor(config.provider).preflight(config)}` };
      } catch (error) {
        if (error instanceof PreflightError) return { status: 'missing', detail: `${config.provider}: ${error.problem}`, fix: error.fix };
        throw error;
      }
    },
  },
  {
    name: 'libvirtd',
    required: true,
    async run(t) {
      const r = await t.exec(['virsh', '-c', 'qemu:///system', 'version', '--daemon'], { timeout: 20_000 }).catch(
        (e: unknown) => ({ exitCode: 1, stdout: '', stderr: e instanceof Error ? e.message : String(e) }),
      );
      if (r.exitCode === 0) {
        const daemon = r.stdout.split('\n').find((l) => l.includes('daemon')) ?? firstLine(r.stdout);
        return { status: 'ok', detail: `qemu:///system reachable (${daemon.trim()})` };
      }
      return {
        status: 'missing',
        detail: `qemu:///system not reachable: ${firstLine(r.stderr)}`,
        fix: 'run `make deps` (installs libvirt and starts virtlogd/libvirtd; there is no systemd here)',
      };
    },
  },
  program('qemu-system-x86_64', ['qemu-system-x86_64', '--version'], 'run `make deps` (installs qemu-system-x86)'),
  program('qemu-img', ['qemu-img', '--version'], 'run `make deps` (installs qemu-utils)'),
  program('packer', ['packer', 'version'], 'run `make deps` (installs Debian\'s packer)'),
  program('mmdebstrap', ['mmdebstrap', '--version'], 'run `make deps` (installs mmdebstrap)'),
  {
    name: 'free disk',
    required: true,
    async run(_t, config) {
      mkdirSync(config.artifactsDir, { recursive: true });
      const fs = await statfs(config.artifactsDir);
      const gib = (fs.bavail * fs.bsize) / 2 ** 30;
      const detail = `${gib.toFixed(1)} GiB free for ${path.relative(process.cwd(), config.artifactsDir) || '.'}`;
      return gib >= MIN_FREE_GIB
        ? { status: 'ok', detail }
        : { status: 'missing', detail, fix: `free at least ${MIN_FREE_GIB} GiB there, or point LAB_ARTIFACTS at a bigger disk` };
    },
  },
  {
    name: 'lab-host box',
    // What `make lab-up` boots: built by `make images` (the local provider needs none).
    required: true,
    async run(_t, config) {
      if (!driverFor(config.provider).hasLabHost) return { status: 'info', detail: 'LAB_PROVIDER=local: no lab host, no box' };
      const labHost = await readManifest(config).then((m) => m.labHost, () => undefined);
      const box = labHost && path.join(labHost.dir, 'lab-host.box');
      if (!box || !existsSync(box)) return { status: 'missing', detail: 'no lab-host box in artifacts/images', fix: 'run `make images`' };
      return { status: 'ok', detail: `${labHost.name}-${labHost.hash} (${path.relative(process.cwd(), box)})` };
    },
  },
  {
    name: 'lab host',
    // A lab that lab-up left must still answer; none at all is fine (lab-up makes one).
    required: true,
    async run(_t, config) {
      const state = await readState(config);
      if (!state) return { status: 'info', detail: 'no lab up (make lab-up starts one)' };
      if (await isHealthy(config, state)) return { status: 'ok', detail: `up since ${state.createdAt}, answers` };
      return { status: 'missing', detail: `the lab host of ${state.createdAt} does not answer (it died or was removed)`, fix: 'run `make lab-down && make lab-up`' };
    },
  },
  {
    name: 'tcg',
    required: true,
    async run(t, config) {
      const kit = await ensureProbeKit(path.join(config.artifactsDir, 'probe'));
      const r = await probeAccel(t, kit, 'tcg', 120_000);
      return r.usable
        ? { status: 'ok', detail: `software emulation works: ${r.detail}` }
        : { status: 'missing', detail: r.detail, fix: 'check qemu-system-x86_64 (make deps)' };
    },
  },
  {
    name: 'kvm',
    // Not required: the lab falls back to TCG. The probe result is what decides.
    required: false,
    async run(t, config) {
      const kit = await ensureProbeKit(path.join(config.artifactsDir, 'probe'));
      const r = await probeAccel(t, kit, 'kvm', config.kvmProbeTimeoutMs);
      return r.usable
        ? { status: 'ok', detail: `usable: ${r.detail}; lab host gets nested KVM` }
        : { status: 'info', detail: `not usable, TCG will be used: ${r.detail}` };
    },
  },
];

/** Runs every check in order; one that throws is reported as missing with its message. */
export async function runChecks(t: Transport, config: LabConfig, only: string[] | undefined, onResult: (r: CheckResult, c: Check) => void) {
  const unknown = only?.filter((n) => !CHECKS.some((c) => c.name === n)) ?? [];
  if (unknown.length > 0) throw new Error(`no such check: ${unknown.join(', ')} (checks: ${CHECKS.map((c) => c.name).join(', ')})`);
  const results: { check: Check; result: CheckResult }[] = [];
  for (const check of CHECKS.filter((c) => !only || only.includes(c.name))) {
    let result: CheckResult;
    try {
      result = { name: check.name, ...(await check.run(t, config)) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result = { name: check.name, status: 'missing', detail: firstLine(message), fix: 'see the message; `make deps` installs what the lab needs' };
    }
    onResult(result, check);
    results.push({ check, result });
  }
  return results;
}
