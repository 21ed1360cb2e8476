import { createServer } from 'node:net';

/**
 * Asks the kernel for an unused TCP port on `host`. The port is released before returning, so
 * another process can take it before the caller binds: callers that start servers retry once.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(
          new Error(
            `could not read the port of a TCP listener on ${host}; check that ${host} is a local address`,
          ),
        );
        return;
      }
      server.close((error) => (error ? reject(error) : resolve(address.port)));
    });
  });
}
