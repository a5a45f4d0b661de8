import { existsSync, statSync } from 'node:fs';
import { homedir, cpus, totalmem } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { log } from './log.js';
import { parseShard, type Shard } from './report/shard.js';

/**
 * Everything the lab can be told through the environment, with its default and
 * its check; the README's "Configuration" table lists it. Other reads of
 * process.env are not lab settings: a command's own knobs as its options'
 * defaults (make bench's N, BENCH_PHASES; make soak's N; make churn's MINUTES,
 * GUESTS; make images' FORCE; make test's REPORT_DIR), and what `make test`
 * hands its suite processes (MOCHA_FILE in test/support/report-env.ts,
 * LAB_SENTINEL_FILE and LAB_UP_DONE in the after-lab-down suite).
 */
export interface LabConfig {
  provider: 'vagrant' | 'local';
  /** VMSnap source: a local checkout, a git URL + ref, the cached checkout, or none. */
  sut:
    | { kind: 'src'; path: string }
    | { kind: 'git'; url: string; ref: string }
    | { kind: 'none'; reason: string };
  keep: boolean;
  /** `make test` also runs the coexist suite (a second lab beside this one, about 3.5 min more). */
  coexist: boolean;
  cpus: number;
  memoryMiB: number;
  imageSource: 'auto' | 'alpine' | 'debian';
  labSuite: 'trixie' | 'bookworm';
  /** Debian mirror URL, taken from this machine's apt sources unless LAB_DEBIAN_MIRROR is set. */
  debianMirror?: string;
  /** Prefix of every libvirt object, file and directory the lab creates. */
  prefix: string;
  vmParallel: number;
  artifactsDir: string;
  cacheDir: string;
  /** Vagrant's own folder (VAGRANT_HOME, default ~/.vagrant.d): where `vagrant box add` puts box.img. */
  vagrantHome: string;
  kvmProbeTimeoutMs: number;
  /** lab-up saves the set-up lab host's state and later lab-ups restore it (lib/lab/saved-host.ts). */
  hostState: boolean;
  /** Lab-host deaths a run survives by replacing the lab host (vagrant provider); one more fails the run. */
  maxDeaths: number;
  /** `make test SHARD=i/n`: this run is shard i of n, against its own lab (lib/report/shard.ts). */
  shard?: Shard;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

const flag = z.enum(['0', '1', 'true', 'false', 'yes', 'no']).transform((v) => ['1', 'true', 'yes'].includes(v));

const intIn = (min: number, max: number, example: string) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max} (example: ${example})`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max} (example: ${example})`);

const hostCpus = Math.max(1, cpus().length);
const hostMemMiB = Math.floor(totalmem() / 1024 / 1024);

/** Each variable: its schema and the hint printed when it is wrong. */
const schema = z.object({
  LAB_PROVIDER: z.enum(['vagrant', 'local'], { message: 'must be "vagrant" (default) or "local"' }).default('vagrant'),
  VMSNAP_SRC: z.string().min(1).optional(),
  VMSNAP_GIT: z.string().regex(/^(https?|git|ssh|file):\/\/\S+$|^[\w.-]+@[\w.-]+:\S+$/, 'must be a git URL (example: https://github.com/slackdaystudio/vmsnap.git)').optional(),
  VMSNAP_REF: z.string().regex(/^[\w./-]+$/, 'must be a branch, tag or commit (example: main)').optional(),
  SUT: z.enum(['auto', 'none'], { message: 'must be "auto" (default) or "none" (run without VMSnap)' }).default('auto'),
  LAB_KEEP: flag.default(false),
  LAB_COEXIST: flag.default(false),
  LAB_CPUS: intIn(1, hostCpus, `LAB_CPUS=${hostCpus}`).default(hostCpus),
  LAB_MEMORY: intIn(1024, hostMemMiB, 'LAB_MEMORY=4096 (MiB)').default(Math.min(4096, hostMemMiB)),
  IMAGE_SOURCE: z.enum(['auto', 'alpine', 'debian'], { message: 'must be auto, alpine or debian' }).default('auto'),
  LAB_SUITE: z.enum(['trixie', 'bookworm'], { message: 'must be trixie (default) or bookworm' }).default('trixie'),
  LAB_DEBIAN_MIRROR: z.string().regex(/^(https?|file):\/\/\S+$/, 'must be a URL (example: http://mirror.example/debian)').optional(),
  LAB_PREFIX: z.string().regex(/^[a-z][a-z0-9-]{2,23}$/, 'must be 3-24 characters of a-z, 0-9 and "-", starting with a letter').default('vmsnap-lab'),
  LAB_VM_PARALLEL: intIn(1, 8, 'LAB_VM_PARALLEL=3').default(3),
  LAB_ARTIFACTS: z.string().min(1).optional(),
  XDG_CACHE_HOME: z.string().min(1).optional(),
  VAGRANT_HOME: z.string().min(1).optional(),
  LAB_KVM_PROBE_TIMEOUT: intIn(1, 600, 'LAB_KVM_PROBE_TIMEOUT=20 (seconds)').default(20),
  LAB_MAX_DEATHS: intIn(0, 20, 'LAB_MAX_DEATHS=3').default(3),
  LAB_HOST_STATE: flag.default(true),
  SHARD: z
    .string()
    .refine((v) => parseShard(v) !== undefined, 'must be i/n with 1 <= i <= n (example: SHARD=1/2)')
    .transform((v) => parseShard(v) as Shard)
    .optional(),
});

const KNOWN = Object.keys(schema.shape);

/** The project root: the folder holding package.json above lib/. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');

/**
 * Reads and validates the configuration. Throws a ConfigError with one line per
 * bad variable, each naming the variable, the bad value and what to set instead.
 */
export function getLabConfig(env: NodeJS.ProcessEnv = process.env): LabConfig {
  const input = Object.fromEntries(KNOWN.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = String(issue.path[0]);
        return `${key}=${JSON.stringify(env[key] ?? '')}: ${issue.message}`;
      }),
    );
  }
  const v = parsed.data;
  const problems: string[] = [];
  const cacheDir = path.join(v.XDG_CACHE_HOME ?? path.join(env.HOME ?? homedir(), '.cache'), 'vmsnap-lab');

  let sut: LabConfig['sut'];
  if (v.SUT === 'none') {
    sut = { kind: 'none', reason: 'SUT=none was set' };
  } else if (v.VMSNAP_SRC !== undefined) {
    const src = path.resolve(v.VMSNAP_SRC);
    if (!existsSync(path.join(src, 'package.json')) || !existsSync(path.join(src, 'vmsnap.js'))) {
      problems.push(
        `VMSNAP_SRC=${JSON.stringify(v.VMSNAP_SRC)}: no VMSnap checkout there (expected package.json and vmsnap.js); point it at a clone of slackdaystudio/vmsnap`,
      );
    }
    sut = { kind: 'src', path: src };
  } else if (v.VMSNAP_GIT !== undefined) {
    sut = { kind: 'git', url: v.VMSNAP_GIT, ref: v.VMSNAP_REF ?? 'main' };
  } else if (existsSync(path.join(cacheDir, 'vmsnap', 'vmsnap.js'))) {
    sut = { kind: 'src', path: path.join(cacheDir, 'vmsnap') };
  } else {
    sut = {
      kind: 'none',
      reason: `no VMSnap source: set VMSNAP_SRC=/path/to/vmsnap, VMSNAP_GIT=url (+ VMSNAP_REF), clone it to ${path.join(cacheDir, 'vmsnap')}, or set SUT=none`,
    };
  }
  if (v.VMSNAP_REF !== undefined && v.VMSNAP_GIT === undefined) {
    problems.push(`VMSNAP_REF=${JSON.stringify(v.VMSNAP_REF)}: only means something with VMSNAP_GIT; set VMSNAP_GIT=url too`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const config: LabConfig = {
    provider: v.LAB_PROVIDER,
    sut,
    keep: v.LAB_KEEP,
    coexist: v.LAB_COEXIST,
    cpus: v.LAB_CPUS,
    memoryMiB: v.LAB_MEMORY,
    imageSource: v.IMAGE_SOURCE,
    labSuite: v.LAB_SUITE,
    debianMirror: v.LAB_DEBIAN_MIRROR,
    prefix: v.LAB_PREFIX,
    vmParallel: v.LAB_VM_PARALLEL,
    artifactsDir: path.resolve(v.LAB_ARTIFACTS ?? path.join(PROJECT_ROOT, 'artifacts')),
    cacheDir,
    vagrantHome: path.resolve(v.VAGRANT_HOME ?? path.join(env.HOME ?? homedir(), '.vagrant.d')),
    kvmProbeTimeoutMs: v.LAB_KVM_PROBE_TIMEOUT * 1000,
    maxDeaths: v.LAB_MAX_DEATHS,
    hostState: v.LAB_HOST_STATE,
    ...(v.SHARD ? { shard: v.SHARD } : {}),
  };
  for (const key of KNOWN) if (input[key] !== undefined) log.lab(`config: ${key}=${String(input[key])}`);
  return config;
}

/** True when `dir` is an existing directory; used by checks that want a clear message. */
export function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
