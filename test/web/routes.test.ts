import { expect } from 'chai';
import { matchRoute, paths, safeNext, withQuery } from '../../services/web/src/ui/routes.ts';

describe('web UI routes', () => {
  it('when a path is matched, then each page gets its route and its decoded id', () => {
    expect(matchRoute('/')).to.deep.equal({ name: 'catalog' });
    expect(matchRoute('/products/chef-knife-8in')).to.deep.equal({ name: 'product', id: 'chef-knife-8in' });
    expect(matchRoute('/products/a%20b')).to.deep.equal({ name: 'product', id: 'a b' });
    expect(matchRoute('/orders/')).to.deep.equal({ name: 'orders' });
    expect(matchRoute('/orders/o-1')).to.deep.equal({ name: 'order', id: 'o-1' });
    expect(matchRoute('/admin')).to.deep.equal({ name: 'admin-audit' });
    expect(matchRoute('/admin/sagas/s-1')).to.deep.equal({ name: 'admin-saga', id: 's-1' });
    expect(matchRoute('/products/%E0%A4%A')).to.deep.equal({ name: 'product', id: '%E0%A4%A' });
  });

  it('when a path matches no page, then the route is not-found with the path', () => {
    expect(matchRoute('/nope')).to.deep.equal({ name: 'not-found', path: '/nope' });
    expect(matchRoute('/products/a/b')).to.deep.equal({ name: 'not-found', path: '/products/a/b' });
  });

  it('when paths are built, then ids are encoded, empty query values and page 1 are left out', () => {
    expect(paths.product('a/b')).to.equal('/products/a%2Fb');
    expect(paths.catalog()).to.equal('/');
    expect(paths.catalog({ q: 'knife', category: '', page: 1 })).to.equal('/?q=knife');
    expect(paths.catalog({ category: 'kitchen', page: 3 })).to.equal('/?category=kitchen&page=3');
    expect(paths.adminAudit({ resource: 'order/o 1' })).to.equal('/admin/audit?resource=order%2Fo+1');
    expect(paths.adminAudit({ actor: 'bob', before: 42 })).to.equal('/admin/audit?actor=bob&before=42');
    expect(withQuery('/x', { a: undefined, b: 0 })).to.equal('/x?b=0');
    expect(matchRoute(paths.order('o-9'))).to.deep.equal({ name: 'order', id: 'o-9' });
  });

  it('when a login carries ?next=, then only app paths are followed (no open redirect)', () => {
    expect(safeNext('/orders/o-1')).to.equal('/orders/o-1');
    expect(safeNext('//evil.example/')).to.equal('/');
    expect(safeNext('https://evil.example/')).to.equal('/');
    expect(safeNext('/api/v1/cart')).to.equal('/');
    expect(safeNext(null)).to.equal('/');
    expect(paths.login('/login')).to.equal('/login');
    expect(paths.login('/cart')).to.equal('/login?next=%2Fcart');
  });
});
