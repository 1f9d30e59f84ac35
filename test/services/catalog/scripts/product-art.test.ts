import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  escapeXml,
  imageFileName,
  renderProductArt,
  wrap,
} from '../../../../services/catalog/scripts/product-art.ts';
import { imagesDir, loadSeed } from '../../../../services/catalog/src/domain/seed.ts';

describe('catalog demo data and product art', function () {
  const seed = loadSeed();
  const dir = imagesDir();

  it('when the seed is read, then it has at least 40 products in at least 5 categories, each used', function () {
    expect(seed.products.length).to.be.at.least(40);
    expect(seed.categories.length).to.be.at.least(5);
    for (const c of seed.categories) {
      expect(
        seed.products.some((p) => p.category === c.id),
        c.id,
      ).to.equal(true);
    }
  });

  it('when each product is checked, then it is complete, priced in cents and has a unique id', function () {
    const categories = new Set(seed.categories.map((c) => c.id));
    expect(new Set(seed.products.map((p) => p.id)).size).to.equal(seed.products.length);
    for (const p of seed.products) {
      expect(p.id, p.id).to.match(/^[a-z0-9][a-z0-9-]*$/);
      expect(p.name.length, p.id).to.be.within(3, 120);
      expect(p.description.length, p.id).to.be.within(20, 2000);
      expect(categories.has(p.category), p.id).to.equal(true);
      expect(Number.isInteger(p.priceCents) && p.priceCents > 0, p.id).to.equal(true);
      expect(p.currency).to.equal('USD');
      expect(p.image).to.equal(`/images/${imageFileName(p.id)}`);
    }
  });

  it('when the shipped images are compared with the generator, then each is present and up to date', function () {
    const byId = new Map(seed.categories.map((c) => [c.id, c]));
    for (const p of seed.products) {
      const file = join(dir, imageFileName(p.id));
      expect(existsSync(file), `${file} (run services/catalog/scripts/generate-images.ts)`).to.equal(true);
      expect(readFileSync(file, 'utf8'), p.id).to.equal(renderProductArt(p, byId.get(p.category)));
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.svg'))).to.have.length(seed.products.length);
  });

  it('when the images are compared with each other, then every one is different and titled with its product', function () {
    const svgs = seed.products.map((p) => readFileSync(join(dir, imageFileName(p.id)), 'utf8'));
    expect(new Set(svgs).size).to.equal(svgs.length);
    seed.products.forEach((p, i) => expect(svgs[i]).to.contain(`<title>${escapeXml(p.name)}</title>`));
  });

  it('when a name has markup characters, then the SVG escapes them', function () {
    const svg = renderProductArt({ id: 'x', name: 'Salt & <Pepper> "Set"', category: 'kitchen' }, undefined);
    expect(svg).to.contain('Salt &amp; &lt;Pepper&gt; &quot;Set&quot;');
    expect(svg).to.not.contain('<Pepper>');
  });

  it('when a long name is wrapped, then it takes at most two balanced lines', function () {
    expect(wrap('Organic Cotton Bath Towels, Set of 2')).to.deep.equal([
      'Organic Cotton Bath',
      'Towels, Set of 2',
    ]);
    expect(wrap('Harbour Lights Board Game')).to.deep.equal(['Harbour Lights', 'Board Game']);
    expect(wrap('Short')).to.deep.equal(['Short']);
    expect(wrap('one two three four five six seven eight nine ten eleven twelve').length).to.equal(2);
  });
});
