import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { productIdsFromFile } from '../../../../services/inventory/src/adapters/seed-file.ts';

describe('seed file', function () {
  let dir: string;
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'inventory-seed-'));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('when the file does not exist, then there is nothing to seed', async function () {
    expect(await productIdsFromFile(join(dir, 'absent.json'))).to.deep.equal([]);
  });

  it('when the file has a products list, then its ids are answered', async function () {
    const path = join(dir, 'p.json');
    await writeFile(
      path,
      JSON.stringify({ categories: [{ id: 'c' }], products: [{ id: 'a' }, { id: 'b' }, { name: 'no id' }] }),
    );
    expect(await productIdsFromFile(path)).to.deep.equal(['a', 'b']);
  });

  it('when the file is an array, then its ids are answered', async function () {
    const path = join(dir, 'p.json');
    await writeFile(path, JSON.stringify([{ id: 'x' }]));
    expect(await productIdsFromFile(path)).to.deep.equal(['x']);
  });

  it('when the file has no product list, then reading it fails naming the file', async function () {
    const path = join(dir, 'p.json');
    await writeFile(path, JSON.stringify({ nothing: true }));
    const err = await productIdsFromFile(path).catch((e: unknown) => e as Error);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.contain(path);
  });
});
