import { expect } from 'chai';
import request from 'supertest';
import { IMAGE_CACHE_CONTROL } from '../../../../services/catalog/src/routes/image-routes.ts';
import { catalogHarness, type CatalogHarness } from '../catalog-harness.ts';

const PROBLEM = /^application\/problem\+json/;

describe('GET /images/:file', function () {
  let h: CatalogHarness;
  before(async function () {
    h = await catalogHarness('memory');
  });
  after(async function () {
    await h.close();
  });

  it('when every product image is fetched, then each is an SVG with a long cache lifetime', async function () {
    for (const product of h.seed.products) {
      const res = await request(h.app).get(product.image).buffer(true).expect(200);
      expect(res.headers['content-type']).to.equal('image/svg+xml');
      expect(res.headers['cache-control']).to.equal(IMAGE_CACHE_CONTROL);
      expect(res.headers['x-content-type-options']).to.equal('nosniff');
      const body = Buffer.isBuffer(res.body) ? res.body.toString('utf8') : String(res.text);
      expect(body).to.match(/^<svg /);
      expect(Number(res.headers['content-length'])).to.equal(Buffer.byteLength(body));
    }
  });

  it('when the same image is fetched again, then the same bytes come back', async function () {
    const a = await request(h.app).get('/images/plush-bear.svg').buffer(true).expect(200);
    const b = await request(h.app).get('/images/plush-bear.svg').buffer(true).expect(200);
    expect(a.headers['content-length']).to.equal(b.headers['content-length']);
  });

  it('when the file does not exist, then 404 problem+json', async function () {
    const res = await request(h.app)
      .get('/images/no-such-thing.svg')
      .expect(404)
      .expect('content-type', PROBLEM);
    expect(res.body.type).to.equal('/problems/not-found');
  });

  for (const path of [
    '/images/..%2Fpackage.json',
    '/images/..%2F..%2Fsrc%2Fapp.ts',
    '/images/%2E%2E%2Fscripts%2Fproduct-art.ts',
    '/images/.env',
    '/images/chef-knife-8in.SVG',
    '/images/chef-knife-8in.svg%00.png',
    '/images/%2Fetc%2Fpasswd',
    '/images/a.txt',
  ]) {
    it(`when the name is not a plain image name (${path}), then 400 problem+json`, async function () {
      await request(h.app).get(path).expect(400).expect('content-type', PROBLEM);
    });
  }

  it('when the path climbs out of the folder, then no file outside is served', async function () {
    const res = await request(h.app).get('/images/../package.json');
    // supertest normalizes nothing: Express sees /package.json, which is no route.
    expect(res.status).to.be.oneOf([400, 404]);
    expect(res.headers['content-type']).to.match(PROBLEM);
  });
});
