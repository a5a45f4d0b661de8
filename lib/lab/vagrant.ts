import { execa, type Options } from 'execa';
import { PROJECT_ROOT, type LabConfig } from '../config.js';
import { log } from '../log.js';
import { labPaths } from './lab-paths.js';
import type { SshTarget } from '../transport/ssh-transport.js';

/** Runs vagrant in the project folder with the lab's own dotfile folder and env file. */
export async function vagrant(config: LabConfig, args: string[], options: Options & { stream?: boolean } = {}) {
  const paths = labPaths(config);
  log.lab(`vagrant ${args.join(' ')}`);
  const { stream, ...rest } = options;
  const child = execa('vagrant', args, {
    cwd: PROJECT_ROOT,
    reject: false,
    env: {
      VAGRANT_CWD: PROJECT_ROOT,
      VAGRANT_DOTFILE_PATH: paths.vagrantDotfile,
      VAGRANT_DEFAULT_PROVIDER: 'libvirt',
      VAGRANT_NO_COLOR: '1',
      VAGRANT_CHECKPOINT_DISABLE: '1',
      LAB_VAGRANT_ENV: paths.vagrantEnv,
    },
    ...(stream ? { stderr: ['pipe', 'inherit'] } : {}),
    ...rest,
  });
  if (stream) child.stdout?.on('data', progressFilter());
  return child;
}

/**
 * Passes vagrant's output through, but its box-upload progress (thousands of
 * `Progress: N%` updates, unreadable in a CI log) only every 25%.
 */
function progressFilter(): (chunk: Buffer) => void {
  let lastShown = -25;
  return (chunk) => {
    // eslint-disable-next-line no-control-regex -- ESC[K is how vagrant redraws its progress line
    for (const piece of chunk.toString().split(/\r|\n|\x1b\[K/)) {
      const m = piece.match(/Progress: (\d+)%/);
      if (m) {
        const pct = Number(m[1]);
        if (pct >= lastShown + 25) {
          lastShown = pct - (pct % 25);
          process.stdout.write(`    upload progress: ${pct}%\n`);
        }
      } else if (piece.trim() !== '') {
        process.stdout.write(`${piece}\n`);
      }
    }
  };
}

export async function boxInstalled(config: LabConfig, box: string): Promise<boolean> {
  const r = await vagrant(config, ['box', 'list', '--machine-readable']);
  return String(r.stdout).split('\n').some((l) => l.split(',')[3] === box);
}

/** Host, port, user and key of the lab host, from `vagrant ssh-config`. */
export async function sshConfig(config: LabConfig): Promise<SshTarget> {
  const r = await vagrant(config, ['ssh-config']);
  if (r.exitCode !== 0) throw new Error(`vagrant ssh-config failed: ${String(r.stderr).trim().split('\n').pop()}`);
  const get = (key: string) => String(r.stdout).match(new RegExp(`^\\s*${key}\\s+(.+)$`, 'm'))?.[1]?.trim().replace(/^"|"$/g, '');
  const host = get('HostName');
  const port = Number(get('Port') ?? '22');
  const user = get('User');
  const keyFile = get('IdentityFile');
  if (!host || !user || !keyFile) throw new Error(`vagrant ssh-config gave no host, user or key:\n${r.stdout}`);
  return { host, port, user, keyFile };
}

/** `running`, `shutoff`, `not_created`, ... as vagrant-libvirt reports it. */
export async function machineState(config: LabConfig): Promise<string> {
  const r = await vagrant(config, ['status', '--machine-readable']);
  const line = String(r.stdout).split('\n').find((l) => l.split(',')[2] === 'state');
  return line?.split(',')[3] ?? 'unknown';
}
