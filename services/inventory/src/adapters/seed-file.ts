import { readFile } from 'node:fs/promises';

/**
 * The product ids of a catalog data file (`{products: [{id}]}`, `{items: [...]}` or an array); none when the file
 * does not exist.
 */
export async function productIdsFromFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  }
  const data = JSON.parse(text) as unknown;
  const list = Array.isArray(data)
    ? data
    : ((data as { products?: unknown; items?: unknown }).products ?? (data as { items?: unknown }).items);
  if (!Array.isArray(list)) throw new Error(`${path}: no product list (products, items or an array)`);
  return list
    .map((p) => (p as { id?: unknown }).id)
    .filter((id): id is string => typeof id === 'string' && id.length > 0);
}
