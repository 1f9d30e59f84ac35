// SigV4 signing cost per request (the kit's signer for VPC Lattice): signing alone, with node:crypto (what the kit
// uses) and with @aws-crypto/sha256-js (the pure-JS hash the SDK's browser builds use); a whole call through the kit's
// client, signed versus unsigned, alternating rounds against one local server; and the memory the signer adds
// when it loads.
//
//   npx tsx bench/run.ts sigv4          (BENCH_SIGN_OPS, BENCH_CALLS, BENCH_ROUNDS)
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHttpClient } from '@meshmart/kit/http';
import { createSigV4Signer } from '../services/kit/src/http/sigv4-signer.ts';
import type { SignableRequest } from '@meshmart/kit/http';

const signOps = Number(process.env.BENCH_SIGN_OPS ?? 20_000);
const calls = Number(process.env.BENCH_CALLS ?? 3_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const credentials = {
  accessKeyId: 'ASIAEXAMPLEEXAMPLE00',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  // An STS session token is ~1 KB; it is a signed header, so its length counts.
  sessionToken: 'F'.repeat(1_000),
};
const request: SignableRequest = {
  method: 'POST',
  protocol: 'http:',
  host: 'payments.meshmart.internal',
  path: '/payments/authorizations',
  headers: {
    accept: 'application/json, application/problem+json',
    'content-type': 'application/json',
    'idempotency-key': 'saga-0f8e5c1d:authorizePayment',
    'x-request-id': '2b7e1516-28ae-4d2a-a6d2-abf7158809cf',
  },
};

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Mean, p50 and p99 in microseconds of `op`, timed one at a time after a warm-up. */
async function timeEach(op: () => Promise<unknown>, n: number): Promise<Record<string, number>> {
  for (let i = 0; i < Math.min(2_000, n); i++) await op();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await op();
    samples.push((performance.now() - t) * 1_000);
  }
  const total = (performance.now() - started) * 1_000;
  samples.sort((a, b) => a - b);
  return {
    mean_us: round(total / n),
    p50_us: round(percentile(samples, 50)),
    p99_us: round(percentile(samples, 99)),
  };
}

async function signOnly(): Promise<Record<string, unknown>> {
  const kit = createSigV4Signer({
    service: 'vpc-lattice-svcs',
    region: 'eu-west-1',
    credentials: () => Promise.resolve(credentials),
  });
  const pureJs = new SignatureV4({
    service: 'vpc-lattice-svcs',
    region: 'eu-west-1',
    credentials,
    sha256: Sha256,
  });
  const pureJsSign = () =>
    pureJs.sign(
      new HttpRequest({
        method: request.method,
        protocol: request.protocol,
        hostname: request.host,
        path: request.path,
        headers: { ...request.headers, host: request.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      }),
    );
  return {
    kit_node_crypto: await timeEach(() => kit.sign(request), signOps),
    aws_crypto_sha256_js: await timeEach(pureJsSign, Math.max(1_000, Math.floor(signOps / 4))),
  };
}

/** Sequential GETs through the kit's client, signed and unsigned in alternating rounds; client CPU per call. */
async function wholeCall(): Promise<Record<string, unknown>> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const plain = createHttpClient({ upstream: 'payments', baseUrl, connections: 1 });
  const signed = createHttpClient({
    upstream: 'payments',
    baseUrl,
    connections: 1,
    sigv4: {
      service: 'vpc-lattice-svcs',
      region: 'eu-west-1',
      credentials: () => Promise.resolve(credentials),
    },
  });
  const run = async (client: typeof plain): Promise<{ us: number; cpuUs: number }> => {
    const cpu = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < calls; i++) await client.post('/payments/authorizations', { amountCents: 1299 });
    const used = process.cpuUsage(cpu);
    return {
      us: ((performance.now() - t) * 1_000) / calls,
      cpuUs: (used.user + used.system) / calls,
    };
  };
  try {
    await run(plain);
    await run(signed);
    const detail: { round: number; unsigned: number; signed: number; added_cpu: number }[] = [];
    for (let r = 1; r <= rounds; r++) {
      const u = await run(plain);
      const s = await run(signed);
      detail.push({
        round: r,
        unsigned: round(u.us),
        signed: round(s.us),
        added_cpu: round(s.cpuUs - u.cpuUs),
      });
    }
    const median = (xs: number[]): number =>
      round(
        percentile(
          [...xs].sort((a, b) => a - b),
          50,
        ),
      );
    return {
      calls_per_round: calls,
      unsigned_us_per_call: median(detail.map((d) => d.unsigned)),
      signed_us_per_call: median(detail.map((d) => d.signed)),
      added_us_per_call: median(detail.map((d) => d.signed - d.unsigned)),
      added_cpu_us_per_call: median(detail.map((d) => d.added_cpu)),
      rounds_detail: detail,
    };
  } finally {
    await Promise.all([plain.close(), signed.close()]);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Heap and RSS a fresh process gains when the signer and the AWS SDK credential chain load. */
function loadCost(): Record<string, number> {
  const signer = fileURLToPath(new URL('../services/kit/src/http/sigv4-signer.ts', import.meta.url));
  const script = `
    const mb = (n) => Math.round(n / 1024 / 1024 * 10) / 10;
    globalThis.gc(); const a = process.memoryUsage();
    const m = await import(${JSON.stringify(signer)});
    m.defaultCredentials();
    await import('@aws-sdk/credential-provider-node');
    globalThis.gc(); const b = process.memoryUsage();
    console.log(JSON.stringify({ heap_used_mb: mb(b.heapUsed - a.heapUsed), rss_mb: mb(b.rss - a.rss) }));`;
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8', env: { ...process.env, AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA: '1' } },
  );
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
}

export async function sigv4Bench(): Promise<Record<string, unknown>> {
  return {
    sign_only: await signOnly(),
    whole_call: await wholeCall(),
    load_cost_under_tsx: loadCost(),
  };
}
