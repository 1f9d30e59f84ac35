import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { bundleServices } from '../../scripts/build-images.ts';
import { startMoto, type Moto } from '../support/moto.ts';

// The image runs bundles with plain node and no node_modules: the lazily loaded signer and the AWS SDK's credential
// chain (which itself imports its providers lazily) must work from the bundle's chunks, against a real STS.
describe('bundled SigV4 signing (IRSA web identity against moto STS, no node_modules)', function () {
  this.timeout(120_000);
  let dir: string;
  let moto: Moto;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshmart-sigv4-bundle-'));
    moto = await startMoto();
  });
  after(async () => {
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when a bundled client with a Lattice policy calls out, then the call is signed with credentials from AssumeRoleWithWebIdentity', async () => {
    const out = join(dir, 'dist');
    await bundleServices({
      services: [],
      entries: { 'sigv4-call': 'test/deploy/support/sigv4-call.ts' },
      outDir: out,
    });
    const entry = readFileSync(join(out, 'sigv4-call.mjs'), 'utf8');
    expect(entry, 'the signer is a chunk of its own, loaded on demand').to.match(
      /import\("\.\/sigv4-signer-/,
    );
    expect(readdirSync(out).some((f) => f.startsWith('sigv4-signer-'))).to.equal(true);

    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const token = join(dir, 'token');
    writeFileSync(token, 'projected-service-account-token');
    try {
      const child = spawn(process.execPath, [join(out, 'sigv4-call.mjs')], {
        cwd: out,
        // Only what the pod has: the IRSA webhook's variables and the client policy; no AWS keys, no profile.
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          TARGET_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          UPSTREAM_TARGET_SIGV4_SERVICE: 'vpc-lattice-svcs',
          UPSTREAM_TARGET_SIGV4_REGION: 'eu-west-1',
          AWS_REGION: 'eu-west-1',
          AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/meshmart-cart',
          AWS_WEB_IDENTITY_TOKEN_FILE: token,
          AWS_ENDPOINT_URL_STS: moto.url,
          AWS_EC2_METADATA_DISABLED: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      expect(code, output).to.equal(0);
      expect(output).to.include('{"status":200}');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(seen).to.have.length(1);
    const headers = seen[0];
    expect(headers.authorization).to.match(
      /^AWS4-HMAC-SHA256 Credential=ASIA[A-Z0-9]+\/\d{8}\/eu-west-1\/vpc-lattice-svcs\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-content-sha256']).to.equal('UNSIGNED-PAYLOAD');
    expect(headers['x-amz-security-token']).to.be.a('string').and.have.length.greaterThan(20);
  });
});
