import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { findDebianMirror } from '../../../lib/host/debian-mirror.js';

describe('findDebianMirror (from the machine\'s apt sources)', () => {
  let apt: string;
  beforeEach(async () => {
    apt = await mkdtemp(path.join(tmpdir(), 'vmsnap-lab-apt-'));
    await mkdir(path.join(apt, 'sources.list.d'));
  });
  afterEach(async () => {
    await rm(apt, { recursive: true, force: true });
  });

  it('takes the URI of a deb822 stanza serving a Debian suite, skipping security and third-party ones', async () => {
    await writeFile(path.join(apt, 'sources.list.d', 'a-vendor.sources'), 'Types: deb\nURIs: https://vendor.invalid/apt\nSuites: nodistro\nComponents: main\n');
    await writeFile(
      path.join(apt, 'sources.list.d', 'debian.sources'),
      'Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://mirror.invalid/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n',
    );
    expect(findDebianMirror(apt)).to.equal('http://mirror.invalid/debian');
  });

  it('reads one-line sources.list entries, with options', async () => {
    await writeFile(path.join(apt, 'sources.list'), '# comment\ndeb [arch=amd64] http://other.invalid/debian trixie main\n');
    expect(findDebianMirror(apt)).to.equal('http://other.invalid/debian');
  });

  it('skips disabled stanzas and finds nothing in an empty configuration', async () => {
    await writeFile(path.join(apt, 'sources.list.d', 'd.sources'), 'Enabled: no\nTypes: deb\nURIs: http://x.invalid/debian\nSuites: trixie\n');
    expect(findDebianMirror(apt)).to.equal(undefined);
  });
});
