// Builds the single-page app: src/ui/main.ts (and the CSS it imports) bundled by esbuild into <out>/assets, with
// public/ copied beside it and index.html pointing at this build's content-hashed assets.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** services/web/ */
export const WEB_DIR = fileURLToPath(new URL('..', import.meta.url));
export const SOURCE_DIRS = [join(WEB_DIR, 'src', 'ui'), join(WEB_DIR, 'public')];
const STAMP = '.build-stamp';

export interface WebBuild {
  readonly dir: string;
  readonly files: readonly string[];
  readonly bytes: number;
  readonly ms: number;
}

/** The newest modification time (ms) of any UI source, the build script included. */
export function newestSourceMtime(): number {
  let newest = statSync(fileURLToPath(import.meta.url)).mtimeMs;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  SOURCE_DIRS.forEach(walk);
  return newest;
}

/** True when `dir` holds a complete build at least as new as every source. */
export function isFresh(dir: string): boolean {
  const stamp = join(dir, STAMP);
  if (!existsSync(stamp) || !existsSync(join(dir, 'index.html'))) return false;
  return statSync(stamp).mtimeMs >= newestSourceMtime();
}

/**
 * Builds into `outDir`: written to a sibling temporary directory first and renamed into place, so a server reading
 * `outDir` (or a second build racing this one) never sees half a build.
 */
export async function buildWeb(outDir: string, options: { minify?: boolean } = {}): Promise<WebBuild> {
  const started = performance.now();
  const tmp = `${outDir.replace(/\/+$/, '')}.tmp-${process.pid}-${Date.now()}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'assets'), { recursive: true });
  const result = await build({
    absWorkingDir: WEB_DIR,
    entryPoints: { app: join(WEB_DIR, 'src', 'ui', 'main.ts') },
    outdir: join(tmp, 'assets'),
    // Content-hashed names: the gateway serves them as immutable; index.html (revalidated) names the current ones.
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify: options.minify ?? true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
  });
  for (const e of result.errors) throw new Error(`web build: ${e.text}`);
  cpSync(join(WEB_DIR, 'public'), tmp, { recursive: true });
  const outputs = Object.keys(result.metafile.outputs).map((f) => f.slice(f.lastIndexOf('/assets/') + 1));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`web build: expected a .js and a .css output, got ${outputs.join(', ')}`);
  const index = join(tmp, 'index.html');
  writeFileSync(
    index,
    readFileSync(index, 'utf8').replaceAll('/__APP_JS__', `/${js}`).replaceAll('/__APP_CSS__', `/${css}`),
  );
  writeFileSync(join(tmp, STAMP), `${js}\n${css}\n`);
  const files = outputs;
  let bytes = 0;
  for (const f of files) bytes += statSync(join(tmp, f)).size;
  const old = `${tmp}.old`;
  if (existsSync(outDir)) renameSync(outDir, old);
  renameSync(tmp, outDir);
  rmSync(old, { recursive: true, force: true });
  return { dir: outDir, files, bytes, ms: Math.round(performance.now() - started) };
}
