import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where `scripts/testenv.sh up` writes the addresses of the servers it started. */
export const TESTENV_FILE = fileURLToPath(new URL('../../.testenv/env', import.meta.url));

export type TestenvKey =
  | 'REDIS_URL'
  | 'MONGO_URL'
  | 'PROMETHEUS_URL'
  | 'PROMTOOL'
  | 'PROMETHEUS_TARGETS_DIR'
  | 'CHROMIUM_PATH'
  | 'KUBECONFIG'
  | 'KUBE_APISERVER_URL'
  | 'JAEGER_QUERY_URL'
  | 'OTLP_TRACES_URL'
  | 'PYTHON_TOOLS_BIN'
  | 'NODE_KUBECONFIG'
  | 'NODE_IMAGE_CONFIG'
  | 'NODE_CONTAINERD_ADDRESS'
  | 'FERRETDB_BIN';

let fileValues: Record<string, string> | undefined;

function fromFile(): Record<string, string> {
  if (fileValues) return fileValues;
  fileValues = {};
  if (existsSync(TESTENV_FILE)) {
    for (const line of readFileSync(TESTENV_FILE, 'utf8').split('\n')) {
      const m = /^(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
      if (m) fileValues[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
    }
  }
  return fileValues;
}

/**
 * The address of a real test server. Fails loudly (never skips) when the test environment is not up, saying how to
 * start it.
 */
export function testenv(key: TestenvKey): string {
  const value = process.env[key] ?? fromFile()[key];
  if (!value) {
    throw new Error(
      `${key} is not set: this test needs the real test environment. Start it with \`make testenv-up\` ` +
        `(or run everything with \`make test\`).`,
    );
  }
  return value;
}
