import { expect } from 'chai';
import { backportsSource, needsBackportsQemu, osCodename, qemuMajor } from '../../../lib/host/outer-qemu.js';

describe('outer QEMU (Debian 12 takes QEMU 10 from bookworm-backports)', () => {
  const bookworm = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
  const trixie = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nVERSION_ID="13"\nVERSION_CODENAME=trixie\nID=debian\n';

  it('asks for the backports QEMU on Debian 12 only', () => {
    expect(osCodename(bookworm)).to.equal('bookworm');
    expect(needsBackportsQemu(bookworm)).to.equal(true);
    expect(needsBackportsQemu(trixie)).to.equal(false);
    expect(needsBackportsQemu('ID=fedora\nVERSION_ID=40\n')).to.equal(false);
  });

  it('reads the major version from qemu-system-x86_64 --version', () => {
    expect(qemuMajor('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022')).to.equal(7);
    expect(qemuMajor('QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)')).to.equal(10);
    expect(qemuMajor('bash: qemu-system-x86_64: command not found')).to.equal(undefined);
  });

  it('writes a deb822 source for bookworm-backports on the given mirror', () => {
    const text = backportsSource('http://mirror.invalid/debian');
    expect(text).to.match(/^Types: deb$/m);
    expect(text).to.match(/^URIs: http:\/\/mirror\.invalid\/debian$/m);
    expect(text).to.match(/^Suites: bookworm-backports$/m);
    expect(text).to.match(/^Components: main$/m);
  });
});
