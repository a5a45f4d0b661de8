import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

// Where Vagrant's own gem keeps its insecure key pair: Debian's package, then
// HashiCorp's installer. The lab-host box authorises that public key, as every
// Vagrant box does; Vagrant swaps it for a fresh key pair on the first `up`.
const GEM_DIRS = ['/usr/share/rubygems-integration/all/gems', '/opt/vagrant/embedded/gems/gems', '/opt/vagrant/embedded/gems/2.3.4/gems'];

export function findVagrantInsecurePubKey(): string | undefined {
  for (const dir of GEM_DIRS) {
    if (!existsSync(dir)) continue;
    for (const gem of readdirSync(dir).filter((g) => /^vagrant-\d/.test(g)).sort().reverse()) {
      const key = path.join(dir, gem, 'keys', 'vagrant.pub');
      if (existsSync(key)) return key;
    }
  }
  return undefined;
}
