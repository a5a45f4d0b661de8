import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { LocalTransport } from './local-transport.js';
import { SshTransport } from './ssh-transport.js';
import type { PutFiles } from './transport.js';

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
