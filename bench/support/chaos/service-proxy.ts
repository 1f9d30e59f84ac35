// A Kubernetes Service on one machine: a stable address whose connections go to whichever process is behind it now.
// Like kube-proxy, it forwards TCP and keeps each connection on the backend it was opened to, so switching the
// backend sends new connections to the new process while the old one finishes what it has (its graceful drain).
import { createServer, connect, type Server, type Socket } from 'node:net';

export class ServiceProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private target: number;
  /** Connections opened, by backend port. */
  readonly connections = new Map<number, number>();
  /** Connections whose backend could not be reached (nothing listening): the client saw a reset. */
  failedConnects = 0;

  private constructor(target: number) {
    this.target = target;
    this.server = createServer((client) => this.forward(client));
  }

  /** Listens on `port` (0: a free one) and forwards to 127.0.0.1:`target`. */
  static async start(port: number, target: number): Promise<ServiceProxy> {
    const proxy = new ServiceProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(port, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy is not listening');
    return address.port;
  }

  get backend(): number {
    return this.target;
  }

  /** New connections go to `port` from now on; open ones stay where they are. */
  switchTo(port: number): void {
    this.target = port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private forward(client: Socket): void {
    const port = this.target;
    this.connections.set(port, (this.connections.get(port) ?? 0) + 1);
    const backend = connect(port, '127.0.0.1');
    let connected = false;
    backend.once('connect', () => (connected = true));
    for (const s of [client, backend]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.once('close', () => this.sockets.delete(s));
    }
    // A side that fails resets the other, as a dropped connection would; one that closes cleanly ends the other once
    // what it sent has been written (pipe), so a response followed by the server's close arrives whole.
    client.on('error', () => backend.destroy());
    backend.on('error', () => {
      if (!connected) this.failedConnects++;
      client.resetAndDestroy();
    });
    client.on('close', (hadError) => (hadError ? backend.destroy() : backend.end()));
    backend.on('close', (hadError) => (hadError ? client.resetAndDestroy() : client.end()));
    client.pipe(backend);
    backend.pipe(client);
  }
}
