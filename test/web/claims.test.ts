import { expect } from 'chai';
import { isExpired, userFromToken } from '../../services/web/src/ui/claims.ts';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: Record<string, unknown>) => `${b64url({ alg: 'ES256' })}.${b64url(claims)}.signature`;

describe('web UI token claims', () => {
  it('when a token names a user and roles, then the UI reads them (array, string or Cognito groups)', () => {
    expect(userFromToken(jwt({ sub: 'alice', name: 'alice', roles: ['customer'], exp: 10 }))).to.deep.equal({
      username: 'alice',
      roles: ['customer'],
      exp: 10,
    });
    expect(userFromToken(jwt({ sub: 'x', role: 'admin ops' }))?.roles).to.deep.equal(['admin', 'ops']);
    expect(userFromToken(jwt({ sub: 'x', 'cognito:groups': ['admin'] }))?.roles).to.deep.equal(['admin']);
    expect(userFromToken(jwt({ sub: 'zoë' }))?.username).to.equal('zoë');
  });

  it('when a token is not a readable JWT, then there is no user', () => {
    expect(userFromToken('not-a-token')).to.equal(undefined);
    expect(userFromToken('a.b.c')).to.equal(undefined);
    expect(userFromToken(jwt({ roles: ['admin'] }))).to.equal(undefined);
  });

  it('when the expiry has passed, then the user is expired', () => {
    expect(isExpired({ username: 'a', roles: [], exp: 100 }, 100)).to.equal(true);
    expect(isExpired({ username: 'a', roles: [], exp: 100 }, 99)).to.equal(false);
    expect(isExpired({ username: 'a', roles: [] }, 1e12)).to.equal(false);
  });
});
