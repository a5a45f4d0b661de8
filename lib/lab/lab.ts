import type { LabConfig } from '../config.js';
import type { PutFiles, Transport } from '../transport/transport.js';
import { driverFor } from './drivers/index.js';
import { readState, type LabState } from './lab-state.js';

/** A connected lab: its state from lab-up and a transport into the lab host. */
export interface Lab {
  state: LabState;
  transport: Transport;
  /** Copies files from this machine into the lab host. */
  put: PutFiles;
}

/**
 * Connects to the lab `make lab-up` left. Tests get a Lab and never know whether
 * it is a vagrant lab host over SSH or this machine (local provider): the
 * provider's driver connects.
 */
export async function connectLab(config: LabConfig): Promise<Lab> {
  const state = await readState(config);
  if (!state) throw new Error('the lab is not up: run `make lab-up` first (or `make test`, which brings it up)');
  return { state, ...(await driverFor(state.provider).connect(state)) };
}
