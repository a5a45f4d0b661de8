import type { LabConfig } from '../../config.js';
import type { readManifest } from '../../images/images.js';
import type { PutFiles, Transport } from '../../transport/transport.js';
import type { LabState } from '../lab-state.js';
import type { OuterAudit } from '../outer-libvirt.js';

// One seam per provider, like Molecule's Driver: everything that differs between
// a lab host in a VM (vagrant) and this machine as the lab (local) is behind this
// interface; lab-up, lab-down and the tests only ever see it. A new provider is
// one new file in this folder, registered in ./index.ts.

export type Manifest = Awaited<ReturnType<typeof readManifest>>;

/** What `create` hands to the shared inside setup (lab-up's converge step). */
export interface CreatedHost {
  transport: Transport;
  put: PutFiles;
  /** What goes into the lab state besides the inside setup's results. */
  state: Pick<LabState, 'outerAccel' | 'ssh' | 'startPath'>;
  /**
   * Saves the lab host's state for later lab-ups to restore (see ../saved-host.ts),
   * when the provider can and this lab host was not itself restored. lab-up calls
   * it once the lab host is set up, before any test guest runs in it.
   */
  saveState?: () => Promise<void>;
}

/**
 * How far one create got, for deciding afterwards whether its lab host died (its
 * console log, set aside before the attempt by setConsoleAside, is the attempt's alone).
 */
export interface CreateProgress {
  /** The lab host was started: libvirt should have it running. */
  hostStarted: boolean;
}

/** What a provider needs and this machine lacks: `problem: fix`, one line. */
export class PreflightError extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${problem}: ${fix}`);
    this.name = 'PreflightError';
  }
}

export interface LabDriver {
  readonly name: LabConfig['provider'];
  /**
   * The lab is a VM of its own (a lab host): it can die and be replaced, has a
   * console, is reached over SSH, and lab-down removes it from this machine.
   * Without one (local), recovery, coexistence and after-lab-down checks do not apply.
   */
  readonly hasLabHost: boolean;
  /**
   * Whether this machine has what the provider needs, before any work: what it
   * found (for doctor), or a PreflightError naming what is missing and the fix.
   */
  preflight(config: LabConfig): Promise<string>;
  /** Makes the lab host (or prepares this machine) and connects to it. */
  create(config: LabConfig, manifest: Manifest, timings: Record<string, number>, progress: CreateProgress): Promise<CreatedHost>;
  /** A transport into the lab an earlier lab-up left. */
  connect(state: LabState): Promise<{ transport: Transport; put: PutFiles }>;
  /** Whether the lab answers now (and is fit for tests: see the vagrant driver's re-pin). */
  healthy(config: LabConfig, state: LabState): Promise<boolean>;
  /** Removes what this provider made on this machine; safe on a half-made lab and twice. */
  destroy(config: LabConfig): Promise<void>;
  /** This provider's objects with the lab's prefix left on this machine's libvirt. */
  leftovers(config: LabConfig): Promise<OuterAudit>;
  /** Why a failed create failed because its lab host died, or undefined (retry only for that). */
  diedDuringCreate(config: LabConfig, progress: CreateProgress): Promise<{ why: string; console: string[] } | undefined>;
  /**
   * The lab host kernel's complaints in its last boot (or the one before, when it
   * restarted), from a console this machine keeps; none without a lab host.
   */
  complaints(config: LabConfig, boot?: 'last' | 'previous'): string[];
  /** The lab host's boot id, or undefined when it does not answer (a changed one means it restarted). */
  bootId(state: LabState): Promise<string | undefined>;
}
