// A process that opens an SshTransport to the target in argv (JSON), runs one
// command, says `ready`, and on the line `close` from stdin closes the transport
// and says `closed`. Nothing else holds it open: it must then exit by itself.
import { createInterface } from 'node:readline';
import { SshTransport, type SshTarget } from '../../lib/transport/ssh-transport.js';

const target = JSON.parse(process.argv[2] as string) as SshTarget;
const transport = await new SshTransport(target).connect({ attempts: 1 });
await transport.exec(['true']);
console.log('ready');
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line !== 'close') return;
  lines.close();
  process.stdin.destroy();
  void transport.close().then(() => {
    console.log('closed');
    // Said only if something still holds the process open, to name it.
    setTimeout(() => console.log(`still open: ${process.getActiveResourcesInfo().join(', ')}`), 3_000).unref();
  });
});
