import { assignPort, releasePort } from '../../scripts/system.ts';

/**
 * A port on 127.0.0.1 that refuses connections: one below the kernel's ephemeral range (never taken by an outgoing
 * connection) that no test listens on — not a port bound and released, which another socket may take in between.
 * `release` hands it back when the test is done.
 */
export function refusedPort(): { port: number; release: () => void } {
  const port = assignPort();
  return { port, release: () => releasePort(port) };
}
