/**
 * How connections reach the Kafka server. The server reads and writes a Node stream socket and never
 * binds anything itself, so TLS (tls.createServer yields TLSSocket, a net.Socket) is another transport,
 * and SASL an authentication step the server runs before dispatching (SaslHandshake/SaslAuthenticate
 * are not advertised yet).
 */
import net from 'node:net';

export interface KafkaTransport {
  /** Starts accepting; resolves with the bound address (the port chosen when 0 was asked). */
  listen(
    host: string,
    port: number,
    onConnection: (socket: net.Socket) => void,
  ): Promise<{ host: string; port: number }>;
  /** Stops accepting new connections (open ones are the server's to close). */
  close(): Promise<void>;
}

/** Plain TCP, no authentication. */
export class TcpTransport implements KafkaTransport {
  private server: net.Server | undefined;

  listen(host: string, port: number, onConnection: (socket: net.Socket) => void) {
    return new Promise<{ host: string; port: number }>((resolve, reject) => {
      const server = net.createServer({ noDelay: true }, onConnection);
      this.server = server;
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        const address = server.address() as net.AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

/** Loopback addresses: the only ones the listener binds to without an explicit opt-in. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
