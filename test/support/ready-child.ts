import path from 'node:path';
import { execa } from 'execa';

function spawnSupportScript(script: string, args: string[], timeoutMs: number) {
  const file = path.join(import.meta.dirname, script);
  return execa('node', ['--import', 'tsx', file, ...args], { reject: false, stdin: 'pipe', timeout: timeoutMs });
}

/**
 * Starts one of the test/support scripts in its own Node process (stdin a pipe,
 * killed after `timeoutMs`) and resolves once it prints `ready`, so a test drives
 * or signals it only when it is set up. Rejects with its stderr when it ends first.
 * The process comes back wrapped: a bare execa promise would be awaited to its end.
 */
export async function startReadyChild(
  script: string,
  args: string[],
  timeoutMs = 20_000,
): Promise<{ child: ReturnType<typeof spawnSupportScript> }> {
  const child = spawnSupportScript(script, args, timeoutMs);
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    void child.then((r) => reject(new Error(`${script} ended before it was ready: ${r.stderr}`)));
  });
  return { child };
}
