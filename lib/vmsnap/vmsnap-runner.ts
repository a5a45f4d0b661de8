import { INNER_ROOT } from '../lab/lab-paths.js';
import { shellQuote, type Transport } from '../transport/transport.js';

/** Where lab-up unpacks VMSnap inside the lab host (see installSut). */
export const VMSNAP_SCRIPT = `${INNER_ROOT}/vmsnap/vmsnap.js`;

/** VMSnap's documented exit codes (vmsnap.js). */
export const EXIT = {
  OK: 0,
  ERR_DOMAINS: 1,
  ERR_OUTPUT_DIR: 2,
  ERR_MAIN: 3,
  ERR_REQS: 4,
  ERR_SCRUB: 5,
  ERR_LOCK_RELEASE: 6,
  ERR_TOO_MANY_COMMANDS: 7,
  ERR_INVALID_SCRUB_TYPE: 8,
} as const;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The programs VMSnap runs (its README's requirements). */
export const VMSNAP_TOOLS = ['virsh', 'qemu-img', 'virtnbdbackup'] as const;

/**
 * A shell script that creates `dir` with one shim per VMSnap tool: each drops
 * libfaketime from its environment and runs the real program, so only VMSnap's
 * own process sees the fake clock.
 */
export function realtimeShimsScript(dir: string): string {
  const q = shellQuote([dir]);
  return [`mkdir -p ${q}`, ...VMSNAP_TOOLS.map((tool) => {
    const real = `$(command -v ${tool})`;
    return `printf '#!/bin/sh\nunset LD_PRELOAD FAKETIME FAKETIME_ONLY_CMDS FAKETIME_SHARED\nexec %s "$@"\n' "${real}" > ${q}/${tool} && chmod 755 ${q}/${tool}`;
  })].join(' && ');
}

export interface VMSnapOptions {
  /**
   * A fake clock for the VMSnap process only (libfaketime, FAKETIME_ONLY_CMDS=node):
   * it starts at this local time ('YYYY-MM-DD HH:mm:ss') and keeps ticking.
   * virtnbdbackup, virsh and QEMU keep the real time.
   */
  fakeNow?: string;
  /** Makes VMSnap's clock run this many times faster (its lock retry waits shrink with it). */
  clockSpeed?: number;
  /** PATH for VMSnap (node itself is called by absolute path, so PATH may lack anything). */
  path?: string;
  /** Folder for VMSnap's lock file (os.tmpdir() reads TMPDIR). Default: the run's own. */
  tmpdir?: string;
  /** Run as this unprivileged user (setpriv), with these groups; HOME is set to `home`. */
  user?: { uid: number; gid: number; groups: number[]; home: string };
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface VMSnapResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** The command line as run, for failure messages. */
  command: string;
  /** stdout and stderr together: VMSnap logs errors through winston, which writes to stdout. */
  output: string;
}

/**
 * Runs the VMSnap CLI inside the lab host, as a user would: `node vmsnap.js args`,
 * with an optional fake clock, PATH, lock folder or unprivileged identity.
 */
export class VMSnapRunner {
  constructor(
    readonly t: Transport,
    /** Default TMPDIR: one per test run, so a lock left by a killed run never blocks another. */
    readonly defaultTmpdir: string,
    readonly node = '/usr/bin/node',
    readonly script = VMSNAP_SCRIPT,
    /** Folder of realtimeShims(): put first on PATH whenever VMSnap runs under a fake clock. */
    readonly shimDir?: string,
  ) {}

  /** The shell command line for one VMSnap run (exported for unit tests). */
  commandLine(args: readonly string[], o: VMSnapOptions = {}): string {
    const faked = Boolean(o.fakeNow || o.clockSpeed);
    // libfaketime leaks into virsh despite FAKETIME_ONLY_CMDS (its log lines carry the
    // fake time and a keepalive warning on stderr, which VMSnap takes for an error):
    // the programs VMSnap calls run through shims that drop the fake clock.
    const path = faked && this.shimDir ? `${this.shimDir}:${o.path ?? DEFAULT_PATH}` : o.path;
    const env: Record<string, string> = {
      TMPDIR: o.tmpdir ?? this.defaultTmpdir,
      // No colours, no spinner animation: output is parsed.
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      ...(path !== undefined ? { PATH: path } : {}),
      ...(o.user ? { HOME: o.user.home, LIBVIRT_DEFAULT_URI: 'qemu:///system' } : {}),
      ...(faked ? { FAKETIME_ONLY_CMDS: 'node' } : {}),
      ...o.env,
    };
    const argv: string[] = ['/usr/bin/env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
    if (faked) {
      const spec = `${o.fakeNow ? `@${o.fakeNow}` : '+0'}${o.clockSpeed ? ` x${o.clockSpeed}` : ''}`;
      argv.push('/usr/bin/faketime', '-f', spec);
    }
    if (o.user) {
      argv.push('/usr/bin/setpriv', `--reuid=${o.user.uid}`, `--regid=${o.user.gid}`, `--groups=${o.user.groups.join(',')}`, '--');
    }
    argv.push(this.node, this.script, ...args);
    return shellQuote(argv);
  }

  async run(args: readonly string[], o: VMSnapOptions = {}): Promise<VMSnapResult> {
    const command = this.commandLine(args, o);
    // </dev/null: VMSnap must never wait for input; cd /: no dependence on the caller's folder.
    const r = await this.t.exec(`cd / && ${command} </dev/null`, { timeout: o.timeoutMs ?? 600_000 });
    return { ...r, command, output: `${r.stdout}\n${r.stderr}` };
  }
}

/** The lines of a VMSnap run's output that match `pattern` (its own evidence, for messages and defect signatures). */
export function vmsnapSaid(r: VMSnapResult, pattern: RegExp): string {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => pattern.test(l)).map((l) => l.trim());
  return lines.length > 0 ? lines.join(' | ') : 'nothing matching';
}

/** A one-paragraph account of a VMSnap run, for assertion messages. */
export function describeRun(r: VMSnapResult): string {
  const tail = (s: string) => s.trim().split('\n').slice(-15).join('\n    ');
  return `vmsnap exited ${r.exitCode} after ${Math.round(r.durationMs)}ms\n  $ ${r.command}\n  stdout:\n    ${tail(r.stdout)}\n  stderr:\n    ${tail(r.stderr)}`;
}
