import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Accel } from '../accel/accel-probe.js';
import type { LabConfig } from '../config.js';
import type { SshTarget } from '../transport/ssh-transport.js';
import { labPaths } from './lab-paths.js';

export type SutState =
  | {
      kind: 'installed';
      from: string;
      /** The commit, with `+changes-<hash>` when the checkout had uncommitted changes. */
      commit: string;
      version: string;
      bin: string;
      /** How runs name it: `2.0.3 (67e09be1a2b3+changes 1f2e3d4c)` (see sutLabel). */
      label?: string;
      /** When it was last installed or checked against the checkout (lib/lab/sut-sync.ts). */
      syncedAt?: string;
    }
  | { kind: 'none'; reason: string };

/** What `lab-up` leaves for tests, `lab-status` and the report: artifacts/lab/state.json. */
export interface LabState {
  provider: 'vagrant' | 'local';
  prefix: string;
  createdAt: string;
  /** KVM or TCG for the lab host itself (vagrant provider), as the outer probe found. */
  outerAccel?: { accel: Accel; detail: string };
  /** KVM or TCG for test guests inside the lab host, as the inner probe found. */
  innerAccel: { accel: Accel; detail: string };
  ssh?: SshTarget;
  guestImage: { name: string; hash: string; boot: 'disk' | 'kernel'; dir: string; source: string };
  versions: Record<string, string>;
  sut: SutState;
  timings: Record<string, number>;
  /**
   * How the lab host came up (vagrant provider): `cold` uploaded the box, `warm`
   * found it in the box cache pool and booted it, `restored` started it from a
   * saved lab-host state (lib/lab/saved-host.ts).
   */
  startPath?: 'cold' | 'warm' | 'restored';
}

export async function readState(config: LabConfig): Promise<LabState | undefined> {
  const file = labPaths(config).state;
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as LabState;
}

export async function writeState(config: LabConfig, state: LabState): Promise<void> {
  const file = labPaths(config).state;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}
