import { done, notYet, pollUntil } from '../poll.js';

export interface GuestExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

interface ExecStatus {
  exited: boolean;
  exitcode?: number;
  'out-data'?: string;
  'err-data'?: string;
}

/** Sends one guest-agent command; over a QEMU socket or `virsh qemu-agent-command`. */
export type AgentCommand = <T>(execute: string, args?: object) => Promise<T>;

/**
 * Runs a program in the guest through the agent and polls until it exits:
 * guest-exec, then guest-exec-status, decoding the captured output.
 * `label` names the guest in the timeout error.
 */
export async function guestExec(
  agent: AgentCommand,
  path: string,
  args: string[],
  options: { timeoutMs: number; pollMs: number; label: string },
): Promise<GuestExecResult> {
  const { pid } = await agent<{ pid: number }>('guest-exec', { path, arg: args, 'capture-output': true });
  return pollUntil(
    `${options.label}: ${path} exited in the guest`,
    async () => {
      const s = await agent<ExecStatus>('guest-exec-status', { pid });
      if (!s.exited) return notYet(`pid ${pid} still running`);
      const dec = (b?: string) => (b ? Buffer.from(b, 'base64').toString('utf8') : '');
      return done({ exitCode: s.exitcode ?? -1, stdout: dec(s['out-data']), stderr: dec(s['err-data']) });
    },
    { timeoutMs: options.timeoutMs, intervalMs: options.pollMs },
  );
}
