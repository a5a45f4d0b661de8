import { connect, type Socket } from 'node:net';
import { guestExec, type GuestExecResult } from '../vm/guest-exec.js';
import { done, notYet, pollUntil } from '../poll.js';

/**
 * A qemu-guest-agent client over the UNIX socket of a QEMU chardev, for booting
 * an image with plain QEMU (no libvirt) in image tests. Inside the lab, the same
 * commands go through `virsh qemu-agent-command` instead.
 * Example: `const qga = await QgaSocket.connect(path, 60_000); await qga.ping();`
 */
export class QgaSocket {
  private buffer = '';
  private waiting?: { resolve: (v: unknown) => void; reject: (e: Error) => void };

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.drain();
    });
    socket.on('error', (e) => this.waiting?.reject(e));
  }

  /** Connects and syncs; retries until the agent answers or the deadline passes. */
  static async connect(path: string, deadlineMs: number): Promise<QgaSocket> {
    const until = Date.now() + deadlineMs;
    return pollUntil(
      `guest agent on ${path} answering guest-sync`,
      async () => {
        let refused = '';
        const socket = await new Promise<Socket | undefined>((resolve) => {
          const s = connect(path);
          s.once('connect', () => resolve(s));
          s.once('error', (e) => {
            refused = e.message;
            resolve(undefined);
          });
        });
        if (!socket) return notYet(refused);
        const qga = new QgaSocket(socket);
        try {
          // guest-sync with a fresh id flushes stale replies; the agent answers only once it runs.
          const id = Math.floor(Math.random() * 2 ** 31);
          const got = await qga.command<number>('guest-sync', { id }, Math.min(5_000, Math.max(1, until - Date.now())));
          if (got === id) return done(qga);
          qga.close();
          return notYet(`guest-sync returned ${got}, expected ${id}`);
        } catch (e) {
          qga.close();
          return notYet((e as Error).message);
        }
      },
      { timeoutMs: deadlineMs, intervalMs: 500 },
    );
  }

  command<T>(execute: string, args?: object, timeoutMs = 30_000): Promise<T> {
    if (this.waiting) throw new Error('QgaSocket: one command at a time');
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`guest agent: ${execute} timed out after ${timeoutMs}ms`));
      }, timeoutMs);
      // A command left waiting (guest-shutdown never answers) must not keep the process alive.
      timer.unref();
      this.waiting = {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.socket.write(`${JSON.stringify(args ? { execute, arguments: args } : { execute })}\n`);
    });
  }

  async ping(): Promise<void> {
    await this.command('guest-ping');
  }

  /** Runs a program in the guest and waits for it: exit code and decoded output. */
  exec(path: string, args: string[], timeoutMs = 30_000): Promise<GuestExecResult> {
    return guestExec((execute, a) => this.command(execute, a), path, args, { timeoutMs, pollMs: 200, label: 'guest-exec' });
  }

  close(): void {
    this.waiting?.reject(new Error('guest agent connection closed'));
    this.waiting = undefined;
    this.socket.destroy();
  }

  private drain(): void {
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      // The agent may send a 0xFF sentinel before guest-sync's reply; skip non-JSON.
      const start = line.indexOf('{');
      if (start < 0 || !this.waiting) continue;
      const msg = JSON.parse(line.slice(start)) as { return?: unknown; error?: { class: string; desc: string } };
      const w = this.waiting;
      this.waiting = undefined;
      if (msg.error) w.reject(new Error(`guest agent: ${msg.error.class}: ${msg.error.desc}`));
      else w.resolve(msg.return);
    }
  }
}
