import { AppError } from '@meshmart/kit';

export interface Product {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** A category id (`kitchen`). */
  readonly category: string;
  readonly priceCents: number;
  readonly currency: 'USD';
  /** Where the catalog serves the picture: `/images/<file>`. */
  readonly image: string;
}

export interface Category {
  readonly id: string;
  readonly name: string;
}

export interface CategoryCount extends Category {
  readonly count: number;
}

/** What an admin may change; absent fields stay as they are. */
export interface ProductPatch {
  readonly name?: string;
  readonly description?: string;
  readonly priceCents?: number;
  readonly category?: string;
}

/** A list request after normalization: equal requests give equal objects (and equal cache keys). */
export interface ProductQuery {
  /** Lower-cased, trimmed, inner whitespace collapsed; absent when empty. */
  readonly q?: string;
  readonly category?: string;
  readonly page: number;
  readonly limit: number;
}

export interface ProductPage {
  readonly items: readonly Product[];
  readonly page: number;
  readonly limit: number;
  readonly total: number;
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export function normalizeQuery(raw: {
  q?: string | undefined;
  category?: string | undefined;
  page?: number | undefined;
  limit?: number | undefined;
}): ProductQuery {
  const q = raw.q?.trim().replace(/\s+/g, ' ').toLowerCase();
  const category = raw.category?.trim();
  return {
    ...(q ? { q } : {}),
    ...(category ? { category } : {}),
    page: raw.page ?? 1,
    limit: raw.limit ?? DEFAULT_LIMIT,
  };
}

/** The cache key of a list page: stable field order, values URI-encoded so no separator can be forged. */
export function queryKey(query: ProductQuery): string {
  const part = (v: string | undefined) => (v === undefined ? '' : encodeURIComponent(v));
  return `q=${part(query.q)}&category=${part(query.category)}&page=${query.page}&limit=${query.limit}`;
}

/** For a `$regex` built from user text: every metacharacter matched literally (Go's QuoteMeta set, as PCRE's). */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The one text match both repositories implement: case-insensitive substring of name, description or category. */
export function matchesText(product: Product, q: string): boolean {
  const needle = q.toLowerCase();
  return (
    product.name.toLowerCase().includes(needle) ||
    product.description.toLowerCase().includes(needle) ||
    product.category.toLowerCase().includes(needle)
  );
}

/** Stable order: by name, then id, comparing code units (as MongoDB compares strings). */
export function compareProducts(a: Product, b: Product): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

export function imagePath(file: string): string {
  return `/images/${file}`;
}

/** Business rules beyond the request schema; the schema already bounds types, lengths and ranges. */
export function checkPatch(patch: ProductPatch, categories: readonly Category[]): void {
  if (patch.category !== undefined && !categories.some((c) => c.id === patch.category)) {
    throw new AppError(422, 'unknown-category', `there is no category '${patch.category}'`, {
      extensions: { categories: categories.map((c) => c.id) },
    });
  }
  if (patch.name !== undefined && patch.name.trim() === '') {
    throw AppError.badRequest('the request is not valid', [
      { field: 'body/name', message: 'must not be blank' },
    ]);
  }
  if (patch.description !== undefined && patch.description.trim() === '') {
    throw AppError.badRequest('the request is not valid', [
      { field: 'body/description', message: 'must not be blank' },
    ]);
  }
}

export function applyPatch(product: Product, patch: ProductPatch): Product {
  return {
    ...product,
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.description !== undefined ? { description: patch.description } : {}),
    ...(patch.priceCents !== undefined ? { priceCents: patch.priceCents } : {}),
    ...(patch.category !== undefined ? { category: patch.category } : {}),
  };
}
