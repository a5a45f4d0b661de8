import createDebug from 'debug';

/**
 * Debug logs by namespace (`DEBUG=vmsnap-lab*`); user-facing progress goes to
 * stderr through `say`, so stdout stays free for a command's own output.
 */
export const log = {
  lab: createDebug('vmsnap-lab'),
  ssh: createDebug('vmsnap-lab:ssh'),
  exec: createDebug('vmsnap-lab:exec'),
};

export function say(message: string): void {
  process.stderr.write(`${message}\n`);
}
