// Writes assets/images/<id>.svg for every product of src/data/products.json:
// `npx tsx services/catalog/scripts/generate-images.ts`
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { imageFileName, renderProductArt, type ArtCategory, type ArtProduct } from './product-art.ts';

const root = new URL('..', import.meta.url);
const data = JSON.parse(readFileSync(new URL('src/data/products.json', root), 'utf8')) as {
  categories: ArtCategory[];
  products: ArtProduct[];
};
const dir = fileURLToPath(new URL('assets/images/', root));
mkdirSync(dir, { recursive: true });
const categories = new Map(data.categories.map((c) => [c.id, c]));
for (const product of data.products) {
  writeFileSync(
    `${dir}${imageFileName(product.id)}`,
    renderProductArt(product, categories.get(product.category)),
  );
}
process.stdout.write(`wrote ${data.products.length} images to ${dir}\n`);
