import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay to 127.0.0.1:port that can freeze: after `freeze()` it forwards
 * nothing and never closes, like a host whose CPU stopped (the TCP stack still
 * acknowledges, nothing above it answers). Used to test what a client does then.
 */
export class FrozenProxy {
  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<FrozenProxy> {
    const sockets = new Set<Socket>();
    // allowHalfOpen: a FIN from the client must not make the relay close its side.
    const server = createServer({ allowHalfOpen: true }, (client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('frozen proxy: no port');
    return new FrozenProxy(server, sockets, address.port);
  }

  freeze(): void {
    for (const s of this.sockets) {
      s.unpipe();
      s.pause();
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
