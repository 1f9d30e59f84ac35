/**
 * The browser UI, served by the gateway. `prepareWebRoot()` returns a directory holding index.html and the assets
 * the single-page app needs; the gateway serves it statically with a fallback to index.html.
 */
import { fileURLToPath } from 'node:url';

export async function prepareWebRoot(): Promise<string> {
  return Promise.resolve(fileURLToPath(new URL('../public/', import.meta.url)));
}
