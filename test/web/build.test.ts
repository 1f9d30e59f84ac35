import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { prepareWebRoot } from '@meshmart/web';
import { buildWeb, isFresh } from '../../services/web/src/build.ts';

describe('web UI build (prepareWebRoot)', function () {
  this.timeout(60000);
  const dirs: string[] = [];
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshmart-web-'));
    dirs.push(dir);
    return dir;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('when the UI is built, then index.html names content-hashed script and stylesheet files that exist', async () => {
    const out = join(scratch(), 'web');
    const built = await buildWeb(out);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    const assets = [...html.matchAll(/(?:src|href)="\/(assets\/app-[A-Z0-9]+\.(?:js|css))"/g)].map(
      (m) => m[1],
    );
    expect(assets).to.have.length(2);
    for (const a of assets) expect(readFileSync(join(out, a), 'utf8').length, a).to.be.greaterThan(1000);
    expect(html).not.to.include('__APP_');
    expect(existsSync(join(out, 'favicon.svg'))).to.equal(true);
    expect(built.files).to.include.members(assets);
    expect(isFresh(out)).to.equal(true);
  });

  it('when the bundle is read, then it loads nothing from another origin (no CDN, no runtime download)', async () => {
    const out = join(scratch(), 'web');
    await buildWeb(out);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).not.to.match(/(src|href)="(https?:)?\/\//);
    const js = /src="\/(assets\/[^"]+)"/.exec(html)![1];
    expect(readFileSync(join(out, js), 'utf8')).not.to.match(/import\s*\(?\s*["']https?:/);
  });

  it('when WEB_ROOT names a prebuilt directory, then prepareWebRoot returns it without building', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>prebuilt</title>');
    expect(await prepareWebRoot({ WEB_ROOT: dir })).to.equal(dir);
  });

  it('when WEB_ROOT has no index.html, then prepareWebRoot fails naming the directory', async () => {
    const dir = join(scratch(), 'empty');
    mkdirSync(dir);
    const err = await prepareWebRoot({ WEB_ROOT: dir }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.include(dir).and.to.include('index.html');
  });

  it('when no WEB_ROOT is set, then prepareWebRoot returns services/web/dist, built and fresh', async () => {
    const [a, b] = await Promise.all([prepareWebRoot({}), prepareWebRoot({})]);
    expect(a).to.equal(b);
    expect(a).to.match(/services\/web\/dist$/);
    expect(isFresh(a)).to.equal(true);
  });
});
