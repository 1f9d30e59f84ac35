import { expect } from 'chai';
import { generateKeyPair, SignJWT } from 'jose';
import {
  InvalidToken,
  LocalIssuer,
  TokenVerifier,
  USER_ID,
} from '../../../services/gateway/src/domain/tokens.ts';
import { authenticate, DEMO_USERS } from '../../../services/gateway/src/domain/users.ts';
import { JWKS_AUDIENCE, JWKS_ISSUER, startJwksServer, type JwksServer } from './jwks-server.ts';
import { eventually } from '../../support/wait.ts';

const claims = { issuer: 'meshmart-gateway', audience: 'meshmart', rolesClaim: 'roles' };
const key = new TextEncoder().encode('k'.repeat(32));
const alice = DEMO_USERS.find((u) => u.username === 'alice')!;
const admin = DEMO_USERS.find((u) => u.username === 'admin')!;

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidToken);
    return (err as Error).message;
  }
  throw new Error('the token was accepted');
}

describe('demo users', () => {
  it('when the password is the user name, then the user signs in; otherwise nobody does', () => {
    expect(authenticate(DEMO_USERS, 'alice', 'alice')?.username).to.equal('alice');
    expect(authenticate(DEMO_USERS, 'admin', 'admin')?.roles).to.deep.equal(['admin']);
    expect(authenticate(DEMO_USERS, 'alice', 'bob')).to.equal(undefined);
    expect(authenticate(DEMO_USERS, 'mallory', 'mallory')).to.equal(undefined);
    expect(authenticate([], 'alice', 'alice')).to.equal(undefined);
  });
});

describe('user ids', () => {
  // The gateway forwards `<userId>:<key>` as checkout's Idempotency-Key, whose limit makes room for 128 + 1 + 128.
  it('when a subject is longer than 128 characters, then it is no user id', () => {
    expect(USER_ID.test('u'.repeat(128))).to.equal(true);
    expect(USER_ID.test('u'.repeat(129))).to.equal(false);
  });
});

describe('local issuer and verifier (HS256)', () => {
  const issuer = new LocalIssuer({ ...claims, signingKey: key, ttlSeconds: 60 });
  const verifier = new TokenVerifier({ ...claims, signingKey: key });

  it('when a token is issued, then it verifies to the user and roles', async () => {
    const token = await issuer.issue(admin);
    expect(token.token_type).to.equal('Bearer');
    expect(token.expires_in).to.equal(60);
    expect(await verifier.verify(token.access_token)).to.deep.equal({ id: 'admin', roles: ['admin'] });
  });

  it('when the token has expired, then it is refused as expired', async () => {
    const old = await issuer.issue(alice, new Date(Date.now() - 3600_000));
    expect(await refusal(verifier.verify(old.access_token))).to.match(/expired/);
  });

  it('when a verified token comes again, then it is answered from the cache until it expires, and never for another string', async () => {
    const fresh = new TokenVerifier({ ...claims, signingKey: key });
    // Expires one second from now.
    const short = await issuer.issue(alice, new Date(Date.now() - 59_000));
    expect(await fresh.verify(short.access_token)).to.deep.equal({ id: 'alice', roles: ['customer'] });
    const [head, body, signature] = short.access_token.split('.');
    const tampered = `${head}.${body}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    expect(await refusal(fresh.verify(tampered))).to.match(/signature/);
    await eventually(
      async () => /expired/.test(await refusal(fresh.verify(short.access_token))),
      'the cached token to be refused once it expired',
    );
  });

  it('when the token is signed with another key, then its signature is refused', async () => {
    const forger = new LocalIssuer({
      ...claims,
      signingKey: new TextEncoder().encode('x'.repeat(32)),
      ttlSeconds: 60,
    });
    const forged = await forger.issue(admin);
    expect(await refusal(verifier.verify(forged.access_token))).to.match(/signature/);
  });

  it('when the audience or issuer differ, then the token is refused', async () => {
    const other = new LocalIssuer({ ...claims, audience: 'someone-else', signingKey: key, ttlSeconds: 60 });
    expect(await refusal(verifier.verify((await other.issue(alice)).access_token))).to.match(/aud/);
    const otherIss = new LocalIssuer({ ...claims, issuer: 'evil', signingKey: key, ttlSeconds: 60 });
    expect(await refusal(verifier.verify((await otherIss.issue(alice)).access_token))).to.match(/iss/);
  });

  it('when the token is not a JWT or is unsigned (alg none), then it is refused', async () => {
    await refusal(verifier.verify('not-a-token'));
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(
      JSON.stringify({ sub: 'admin', roles: ['admin'], iss: claims.issuer, aud: claims.audience, exp: 2e9 }),
    ).toString('base64url');
    await refusal(verifier.verify(`${header}.${body}.`));
  });

  it('when the subject is not a valid user id, then the token is refused', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('../../etc')
      .setIssuer(claims.issuer)
      .setAudience(claims.audience)
      .setExpirationTime('1m')
      .sign(key);
    expect(await refusal(verifier.verify(token))).to.match(/subject/);
  });
});

describe('verifier against an OIDC provider JWKS (RS256)', () => {
  let jwks: JwksServer;
  let verifier: TokenVerifier;
  before(async () => {
    jwks = await startJwksServer();
    verifier = new TokenVerifier({
      issuer: JWKS_ISSUER,
      audience: JWKS_AUDIENCE,
      rolesClaim: 'cognito:groups',
      jwksUrl: jwks.url,
    });
  });
  after(() => jwks.close());

  it('when the provider signed the token, then it verifies with the roles from the configured claim', async () => {
    const token = await jwks.sign({ sub: '6f1c2a8e-user', 'cognito:groups': ['admin'] });
    expect(await verifier.verify(token)).to.deep.equal({ id: '6f1c2a8e-user', roles: ['admin'] });
    expect(jwks.hits()).to.be.greaterThan(0);
  });

  it('when a key the provider does not publish signed it, then it is refused', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await jwks.sign({ sub: 'mallory', 'cognito:groups': ['admin'] }, { key: privateKey });
    await refusal(verifier.verify(token));
  });

  it('when an HS256 token comes in JWKS mode, then its algorithm is refused', async () => {
    const token = await new LocalIssuer({
      issuer: JWKS_ISSUER,
      audience: JWKS_AUDIENCE,
      rolesClaim: 'cognito:groups',
      signingKey: key,
      ttlSeconds: 60,
    }).issue(admin);
    expect(await refusal(verifier.verify(token.access_token))).to.match(/algorithm/);
  });

  it('when the provider token has expired, then it is refused', async () => {
    const token = await jwks.sign({ sub: 'u1' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    expect(await refusal(verifier.verify(token))).to.match(/expired/);
  });
});
