import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Category, Product } from './product.ts';

export interface SeedData {
  readonly categories: readonly Category[];
  readonly products: readonly Product[];
}

/** The demo catalogue shipped with the service (src/data/products.json); read when called, never at import. */
export function loadSeed(file: URL = new URL('../data/products.json', import.meta.url)): SeedData {
  return JSON.parse(readFileSync(file, 'utf8')) as SeedData;
}

/** Where the product pictures live (assets/images). */
export function imagesDir(): string {
  return fileURLToPath(new URL('../../assets/images/', import.meta.url));
}
