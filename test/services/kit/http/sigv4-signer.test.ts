import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { AppError } from '../../../../services/kit/src/errors.ts';
import {
  createHttpClient,
  LATTICE_SIGNING_SERVICE,
  UNSIGNED_PAYLOAD,
  type AwsCredentials,
  type HttpClient,
  type HttpClientOptions,
} from '../../../../services/kit/src/http/index.ts';
import { cachedCredentials, defaultCredentials } from '../../../../services/kit/src/http/sigv4-signer.ts';
import { runPython, startMoto, type Moto } from '../../../support/moto.ts';

// The AWS SDK defines a global `awslambda` unless told not to; outside Lambda it is noise to mocha's leak check.
process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA = '1';

const VERIFY = fileURLToPath(new URL('./support/verify_sigv4.py', import.meta.url));
const REGION = 'eu-west-1';
const STATIC: AwsCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-example',
};

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

interface Verdict {
  readonly ok: boolean;
  readonly signature: string;
  readonly expected: string;
  readonly scope: string;
  readonly accessKeyId: string;
  readonly signedHeaders: string;
  readonly computedSignedHeaders: string;
}

/** A real HTTP server that records every request as it arrived and answers with the queued statuses (then 200). */
function recorder(): { server: Server; calls: Recorded[]; answers: number[]; url: () => string } {
  const calls: Recorded[] = [];
  const answers: number[] = [];
  const server = createServer((req, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', headers: flat(req.headers), body });
      const status = answers.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
    });
  });
  return {
    server,
    calls,
    answers,
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
}

function flat(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(',') : value;
  return out;
}

async function verify(
  base: string,
  calls: readonly Recorded[],
  credentials: AwsCredentials = STATIC,
): Promise<Verdict[]> {
  return runPython<Verdict[]>(VERIFY, {
    service: LATTICE_SIGNING_SERVICE,
    region: REGION,
    credentials,
    requests: calls.map((c) => ({ ...c, url: `${base}${c.url}` })),
  });
}

describe('kit http: SigV4 signing (checked by botocore)', function () {
  this.timeout(60_000);
  const rec = recorder();
  let moto: Moto;
  const clients: HttpClient[] = [];
  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = createHttpClient({
      upstream: 'catalog',
      baseUrl: rec.url(),
      retryBaseMs: 1,
      sigv4: { service: LATTICE_SIGNING_SERVICE, region: REGION, credentials: () => Promise.resolve(STATIC) },
      ...options,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    await new Promise<void>((resolve) => rec.server.listen(0, '127.0.0.1', resolve));
    moto = await startMoto();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await new Promise<void>((resolve) => rec.server.close(() => resolve()));
    await moto?.stop();
  });
  beforeEach(() => {
    rec.calls.length = 0;
    rec.answers.length = 0;
  });

  it('when a GET with a query is signed, then botocore computes the same signature over what arrived', async () => {
    await client().get('/products/p%3A1', {
      query: { q: 'red shoes', tag: ['b', 'a:x'], 'page-size': 2, page: 1 },
      requestId: 'req-1',
    });
    const [call] = rec.calls;
    expect(call.headers['x-amz-content-sha256']).to.equal(UNSIGNED_PAYLOAD);
    expect(call.headers['x-amz-security-token']).to.equal(STATIC.sessionToken);
    expect(call.headers.authorization).to.match(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/vpc-lattice-svcs\/aws4_request, /,
    );
    // The query goes out in canonical form, so any verifier canonicalizes the very bytes that were signed.
    expect(call.url).to.equal('/products/p%3A1?page=1&page-size=2&q=red%20shoes&tag=a%3Ax&tag=b');
    const [verdict] = await verify(rec.url(), rec.calls);
    expect(verdict.ok, JSON.stringify(verdict)).to.equal(true);
    expect(verdict.computedSignedHeaders).to.equal(verdict.signedHeaders);
    expect(verdict.signedHeaders.split(';')).to.include.members([
      'host',
      'x-amz-date',
      'x-amz-content-sha256',
      'x-amz-security-token',
      'x-request-id',
    ]);
  });

  it('when a POST with a JSON body and an Idempotency-Key is signed, then the body arrives intact and the signature holds', async () => {
    const body = { orderId: 'ord-1', items: [{ productId: 'p-1', quantity: 2 }], note: 'ünïcode & more' };
    await client().post('/reservations', body, { idempotencyKey: 'saga-1:reserveStock' });
    const [call] = rec.calls;
    expect(JSON.parse(call.body)).to.deep.equal(body);
    expect(call.headers['x-amz-content-sha256']).to.equal(UNSIGNED_PAYLOAD);
    const [verdict] = await verify(rec.url(), rec.calls);
    expect(verdict.ok, JSON.stringify(verdict)).to.equal(true);
    expect(verdict.signedHeaders.split(';')).to.include.members(['content-type', 'idempotency-key']);
  });

  it('when a signed header, the path or the key differs, then botocore rejects the signature', async () => {
    await client().post('/reservations', { a: 1 }, { idempotencyKey: 'k-1' });
    const [call] = rec.calls;
    const verdicts = await verify(rec.url(), [
      { ...call, headers: { ...call.headers, 'idempotency-key': 'k-2' } },
      { ...call, url: '/reservations/other' },
    ]);
    expect(verdicts.map((v) => v.ok)).to.deep.equal([false, false]);
    const [wrongKey] = await verify(rec.url(), [call], { ...STATIC, secretAccessKey: 'another-secret' });
    expect(wrongKey.ok).to.equal(false);
  });

  it('when an attempt is retried, then the retry is signed again with a fresh date', async () => {
    let t = Date.parse('2026-03-01T10:00:00Z');
    // Two seconds per reading, so the retry's date must differ from the first attempt's.
    const now = (): number => (t += 2_000);
    rec.answers.push(503);
    const c = client({
      sigv4: {
        service: LATTICE_SIGNING_SERVICE,
        region: REGION,
        credentials: () => Promise.resolve(STATIC),
        now,
      },
    });
    const res = await c.get('/products');
    expect(res.status).to.equal(200);
    expect(rec.calls).to.have.length(2);
    const [first, second] = rec.calls;
    expect(first.headers['x-amz-date']).to.match(/^20260301T1000\d\dZ$/);
    expect(second.headers['x-amz-date']).to.not.equal(first.headers['x-amz-date']);
    expect(second.headers.authorization).to.not.equal(first.headers.authorization);
    const verdicts = await verify(rec.url(), rec.calls);
    expect(verdicts.map((v) => v.ok)).to.deep.equal([true, true]);
  });

  it('when no credentials can be had, then the call fails with 503 upstream-signing-failed and the breaker stays closed', async () => {
    const c = client({
      retries: 0,
      breaker: { failureThreshold: 1 },
      sigv4: {
        service: LATTICE_SIGNING_SERVICE,
        region: REGION,
        credentials: () => Promise.reject(new Error('Could not load credentials from any providers')),
      },
    });
    let error: unknown;
    try {
      await c.get('/products');
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(AppError);
    expect((error as AppError).status).to.equal(503);
    expect((error as AppError).code).to.equal('upstream-signing-failed');
    expect((error as AppError).message).to.include('Could not load credentials');
    expect(c.breaker.state).to.equal('closed');
    expect(rec.calls).to.have.length(0);
  });

  it('when the client has no sigv4 policy, then nothing is signed', async () => {
    const c = createHttpClient({ upstream: 'catalog', baseUrl: rec.url() });
    clients.push(c);
    await c.get('/products');
    expect(rec.calls[0].headers).to.not.have.property('authorization');
    expect(rec.calls[0].headers).to.not.have.property('x-amz-date');
  });

  describe('IRSA: the default chain against a local STS (moto AssumeRoleWithWebIdentity)', () => {
    const saved: Record<string, string | undefined> = {};
    let dir: string;
    const set = (env: Record<string, string | undefined>): void => {
      for (const [k, v] of Object.entries(env)) {
        if (!(k in saved)) saved[k] = process.env[k];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    };
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'meshmart-irsa-'));
      const token = join(dir, 'token');
      // moto accepts any token; the pod identity webhook mounts a projected service-account token here.
      writeFileSync(
        token,
        'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bWVzaG1hcnQ6Y2FydCJ9.sig',
      );
      set({
        AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/meshmart-cart',
        AWS_WEB_IDENTITY_TOKEN_FILE: token,
        AWS_ROLE_SESSION_NAME: 'meshmart-cart',
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL_STS: moto.url,
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_CONFIG_FILE: join(dir, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
      });
    });
    after(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('when a pod has a web identity token, then the chain assumes the role, caches the credentials and refreshes them before they expire', async () => {
      let t = Date.now();
      const credentials = defaultCredentials({ now: () => t });
      const first = await credentials();
      expect(first.accessKeyId).to.match(/^ASIA/);
      expect(first.sessionToken).to.be.a('string').and.not.equal('');
      expect(first.expiration).to.be.instanceOf(Date);
      const again = await credentials();
      expect(again.accessKeyId, 'served from the cache').to.equal(first.accessKeyId);
      // Four minutes before expiry is inside the five-minute refresh window.
      t = first.expiration!.getTime() - 4 * 60_000;
      const refreshed = await credentials();
      expect(refreshed.accessKeyId, 'a new AssumeRoleWithWebIdentity').to.not.equal(first.accessKeyId);
      expect(refreshed.expiration!.getTime()).to.be.greaterThan(first.expiration!.getTime() - 1);
      // Back to the real time: the new credentials are an hour from expiry, so the cache keeps them.
      t = Date.now();
      expect((await credentials()).accessKeyId).to.equal(refreshed.accessKeyId);

      const c = client({ sigv4: { service: LATTICE_SIGNING_SERVICE, region: REGION, credentials } });
      await c.post('/carts/u-1/items/p-1', { quantity: 1 });
      const [verdict] = await verify(rec.url(), rec.calls, refreshed);
      expect(verdict.ok, JSON.stringify(verdict)).to.equal(true);
      expect(verdict.accessKeyId).to.equal(refreshed.accessKeyId);
      expect(rec.calls[0].headers['x-amz-security-token']).to.equal(refreshed.sessionToken);
    });
  });

  describe('cachedCredentials', () => {
    it('when many calls arrive during a refresh, then one fetch serves them all', async () => {
      let fetches = 0;
      const source = async (): Promise<AwsCredentials> => {
        fetches++;
        await new Promise((r) => setImmediate(r));
        return { ...STATIC, accessKeyId: `AK${fetches}`, expiration: new Date(Date.now() + 3_600_000) };
      };
      const cached = cachedCredentials(source);
      const all = await Promise.all(Array.from({ length: 20 }, () => cached()));
      expect(fetches).to.equal(1);
      expect(new Set(all.map((c) => c.accessKeyId))).to.deep.equal(new Set(['AK1']));
    });

    it('when a refresh fails before the old credentials expire, then the old ones are used; after expiry the failure is thrown', async () => {
      let t = 0;
      let fail = false;
      const cached = cachedCredentials(
        () =>
          fail
            ? Promise.reject(new Error('STS unavailable'))
            : Promise.resolve({ ...STATIC, expiration: new Date(600_000) }),
        { now: () => t },
      );
      await cached();
      fail = true;
      t = 400_000; // inside the refresh window, not expired
      expect((await cached()).accessKeyId).to.equal(STATIC.accessKeyId);
      t = 600_001;
      let error: unknown;
      try {
        await cached();
      } catch (err) {
        error = err;
      }
      expect(String(error)).to.include('STS unavailable');
    });
  });
});
