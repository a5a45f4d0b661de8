import { LocalTransport } from '../../transport/local-transport.js';
import { INNER_ROOT } from '../lab-paths.js';
import { putFilesFor } from '../../transport/put-files.js';
import { auditOuter } from '../outer-libvirt.js';
import { labHostBootId } from '../lab-health.js';
import { PreflightError, type LabDriver } from './driver.js';

/**
 * This machine is the lab: test guests run on its own libvirt. For a machine that
 * is disposable already (a CI runner), never a developer's own libvirt.
 */
export const localDriver: LabDriver = {
  name: 'local',
  hasLabHost: false,

  async preflight() {
    // The local provider runs guests and backups on this machine: it needs what a lab host has.
    const tools = ['virsh', 'qemu-img', 'qemu-system-x86_64', 'virtnbdbackup', 'virtnbdrestore', 'debugfs', 'node'];
    const r = await new LocalTransport().exec(['sh', '-c', 'for t in "$@"; do command -v "$t" >/dev/null || echo "$t"; done', 'sh', ...tools]);
    // A shell that did not run found nothing: never read its silence as "all there".
    if (r.exitCode !== 0) throw new PreflightError(`cannot look for the local provider's tools: ${r.stderr.trim().split('\n')[0] || `sh exited ${r.exitCode}`}`, 'check PATH');
    const missing = r.stdout.trim().split('\n').filter(Boolean);
    if (missing.length > 0) {
      throw new PreflightError(`LAB_PROVIDER=local needs ${missing.join(', ')} on this machine`, 'apt-get install virtnbdbackup qemu-utils e2fsprogs (a disposable machine only)');
    }
    return `this machine is the lab: ${tools.join(', ')} found`;
  },

  // No lab host, so no console of one.
  complaints: () => [],

  async create() {
    const local = new LocalTransport();
    return { transport: local, put: putFilesFor(local), state: {} };
  },

  async connect() {
    const local = new LocalTransport();
    return { transport: local, put: putFilesFor(local) };
  },

  healthy: async () => true,

  /**
   * The guests are removed by the tests' own cleanup; here the lab's folders go.
   * The guest image under images/ stays: it is a cache, like artifacts/images.
   */
  async destroy() {
    await new LocalTransport().exec(['rm', '-rf', `${INNER_ROOT}/guests`, `${INNER_ROOT}/tmp`, `${INNER_ROOT}/backups`, `${INNER_ROOT}/vmsnap`, `${INNER_ROOT}/bin`]);
  },

  // Only its runs' test guests can be there (<prefix>-<run id>-...): removed by the tests' cleanup.
  leftovers: (config) => auditOuter(new LocalTransport(), config.prefix),

  diedDuringCreate: async () => undefined,

  bootId: async () => labHostBootId(new LocalTransport()),
};
