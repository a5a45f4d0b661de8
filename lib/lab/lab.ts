import type { LabConfig } from '../config.js';
import { LocalTransport } from '../transport/local-transport.js';
import { SshTransport } from '../transport/ssh-transport.js';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { PutFiles, Transport } from '../transport/transport.js';
import { readState, type LabState } from './lab-state.js';

/** A connected lab: its state from lab-up and a transport into the lab host. */
export interface Lab {
  state: LabState;
  transport: Transport;
  /** Copies files from this machine into the lab host. */
  put: PutFiles;
}

/** How files reach the host of a transport: SFTP for the lab host, a copy on this machine. */
export function putFilesFor(t: SshTransport | LocalTransport): PutFiles {
  if (t instanceof SshTransport) return (files) => t.putFiles(files);
  return async (files) => {
    for (const f of files) {
      await mkdir(path.dirname(f.remote), { recursive: true });
      await copyFile(f.local, f.remote);
    }
  };
}

/**
 * Connects to the lab `make lab-up` left. Tests get a Lab and never know whether
 * it is a vagrant lab host over SSH or this machine (local provider).
 */
export async function connectLab(config: LabConfig): Promise<Lab> {
  const state = await readState(config);
  if (!state) throw new Error('the lab is not up: run `make lab-up` first (or `make test`, which brings it up)');
  if (state.provider === 'local') {
    const local = new LocalTransport();
    return { state, transport: local, put: putFilesFor(local) };
  }
  if (!state.ssh) throw new Error('the lab state has no SSH target: run `make lab-down && make lab-up`');
  const ssh = new SshTransport(state.ssh);
  try {
    await ssh.connect({ attempts: 3 });
  } catch (error) {
    throw new Error(`the lab host does not answer (${(error as Error).message.split('\n')[0]}): run \`make lab-down && make lab-up\``, { cause: error });
  }
  return { state, transport: ssh, put: putFilesFor(ssh) };
}
