/**
 * The browser UI, served by the gateway. `prepareWebRoot()` returns a directory holding index.html and the assets
 * the single-page app needs; the gateway serves it statically with a fallback to index.html.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** services/web/ when run from the sources (no "./" prefix, so the image bundler does not treat it as an asset). */
const WEB_DIR = fileURLToPath(new URL('..', import.meta.url));
/** In a bundle (scripts/build-images.ts), the prebuilt UI sits in web/ beside the bundles. */
const BESIDE_BUNDLE = fileURLToPath(new URL('web', import.meta.url));

let building: Promise<string> | undefined;

/**
 * The directory to serve:
 * 1. `WEB_ROOT` when set (a prebuilt directory; the container image sets it);
 * 2. web/ beside the bundle when running from scripts/build-images.ts output;
 * 3. services/web/dist, built first when it is missing or older than the sources (esbuild, well under a second).
 * Concurrent callers in one process share one build.
 */
export async function prepareWebRoot(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const prebuilt = env.WEB_ROOT?.trim();
  if (prebuilt) {
    const dir = resolve(prebuilt);
    if (!existsSync(join(dir, 'index.html'))) {
      throw new Error(
        `WEB_ROOT=${prebuilt}: there is no index.html there (build it with: npx tsx services/web/src/cli.ts --out ${prebuilt})`,
      );
    }
    return dir;
  }
  if (existsSync(join(BESIDE_BUNDLE, 'index.html'))) return BESIDE_BUNDLE;
  const builder = join(WEB_DIR, 'src', 'build.ts');
  if (!existsSync(builder)) {
    throw new Error(
      'the web UI is not built: set WEB_ROOT to a built UI (npx tsx services/web/src/cli.ts --out DIR)',
    );
  }
  building ??= (async () => {
    // Loaded only here, so a bundle of the gateway never carries esbuild.
    const { buildWeb, isFresh } = (await import(pathToFileURL(builder).href)) as typeof import('./build.ts');
    const dir = join(WEB_DIR, 'dist');
    if (!isFresh(dir)) await buildWeb(dir);
    return dir;
  })().finally(() => {
    building = undefined;
  });
  return building;
}
