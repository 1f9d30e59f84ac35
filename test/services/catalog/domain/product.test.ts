import { expect } from 'chai';
import { AppError } from '@meshmart/kit';
import {
  applyPatch,
  checkPatch,
  compareProducts,
  escapeRegex,
  matchesText,
  normalizeQuery,
  queryKey,
  type Product,
} from '../../../../services/catalog/src/domain/product.ts';

const lamp: Product = {
  id: 'a1',
  name: 'Alpha Lamp',
  description: 'A warm light',
  category: 'home',
  priceCents: 1000,
  currency: 'USD',
  image: '/images/a1.svg',
};

describe('catalog product rules', function () {
  it('when queries differ only in case and spacing, then they normalize to the same cache key', function () {
    const a = normalizeQuery({ q: '  Wool   Rug ', page: 1, limit: 20 });
    const b = normalizeQuery({ q: 'wool rug', page: 1, limit: 20 });
    expect(a).to.deep.equal(b);
    expect(queryKey(a)).to.equal(queryKey(b));
    expect(queryKey(a)).to.not.equal(queryKey(normalizeQuery({ q: 'wool rug', page: 2, limit: 20 })));
  });

  it('when q or category is empty, then it is left out', function () {
    expect(normalizeQuery({ q: '  ', category: '' })).to.deep.equal({ page: 1, limit: 20 });
  });

  it('when a value holds separators, then it cannot forge another query key', function () {
    const forged = queryKey(normalizeQuery({ q: 'a&category=toys' }));
    const real = queryKey(normalizeQuery({ q: 'a', category: 'toys' }));
    expect(forged).to.not.equal(real);
  });

  it('when text is escaped for a regex, then it matches only itself', function () {
    for (const text of ['.*', '(a)', '[x]', 'a+b?', '^$', '\\d', '{2}', 'a|b']) {
      const re = new RegExp(escapeRegex(text), 'i');
      expect(re.test(text), text).to.equal(true);
      expect(re.test('zzz'), text).to.equal(false);
    }
  });

  it('when matching text, then name, description and category count, in any case', function () {
    expect(matchesText(lamp, 'LAMP')).to.equal(true);
    expect(matchesText(lamp, 'warm')).to.equal(true);
    expect(matchesText(lamp, 'hom')).to.equal(true);
    expect(matchesText(lamp, 'kettle')).to.equal(false);
  });

  it('when names tie, then the id decides the order', function () {
    const b = { ...lamp, id: 'a0' };
    expect([lamp, b].sort(compareProducts).map((p) => p.id)).to.deep.equal(['a0', 'a1']);
    expect(compareProducts(lamp, { ...lamp, name: 'Beta' })).to.equal(-1);
  });

  it('when a patch names an unknown category, then it is refused with 422', function () {
    let err: unknown;
    try {
      checkPatch({ category: 'garden' }, [{ id: 'home', name: 'Home' }]);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).status).to.equal(422);
    expect(() => checkPatch({ category: 'home' }, [{ id: 'home', name: 'Home' }])).to.not.throw();
  });

  it('when a patch is applied, then only the given fields change', function () {
    expect(applyPatch(lamp, { priceCents: 5 })).to.deep.equal({ ...lamp, priceCents: 5 });
    expect(applyPatch(lamp, {})).to.deep.equal(lamp);
  });
});
