// A TCP forwarder tests put between a client and a server, standing in for the load balancer in
// front of zk-xds replicas: retarget() sends new connections to another server and cuts the open
// ones, the way a proxy's connection moves when its replica dies or the balancer moves it.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpForwarder {
  private readonly sockets = new Set<net.Socket>();
  /** Connections accepted so far (each is a fresh connection from the client). */
  connections = 0;

  private constructor(
    private readonly server: net.Server,
    private target: number,
  ) {}

  static async start(targetPort: number): Promise<TcpForwarder> {
    let self: TcpForwarder | undefined;
    const server = net.createServer((client) => self!.accept(client));
    self = new TcpForwarder(server, targetPort);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** New connections go to `port`; open ones are cut (both ends). */
  retarget(port: number): void {
    this.target = port;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.connections++;
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(a);
      a.pipe(b);
      // Either side going away ends the pair, as a dead server would for its clients.
      a.on('error', () => b.destroy());
      a.on('close', () => {
        b.destroy();
        this.sockets.delete(a);
      });
    }
  }
}
