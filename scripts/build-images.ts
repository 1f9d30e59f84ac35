// Bundles each service for the container image: services/<name>/src/main.ts -> dist/services/<name>.mjs (ESM for
// Node 20, run with plain `node`: no tsx, no TypeScript, no node_modules in the image), the code services share in
// chunk-<hash>.mjs files beside them, the files they read at run time under assets/, and with the gateway the
// built web UI under web/.
//
//   npx tsx scripts/build-images.ts                 bundle every catalogue service that has a src/main.ts
//   npx tsx scripts/build-images.ts catalog cart    only these          (--out DIR: elsewhere than dist/services)
//   npx tsx scripts/build-images.ts --mode workspace   bundle only @meshmart/* (npm packages stay imports)
//   npx tsx scripts/build-images.ts --image [--dry-run] [--tag T]   instead, `docker build` the one image of all
//                                                   services (its build stage runs this script itself)
//
// Modes: `all` (the default, what the Dockerfile uses) bundles the npm packages too, so the image holds the bundles
// and nothing else; `workspace` bundles the workspace packages and keeps every npm package external, for an image
// that installs production dependencies with `npm ci --omit=dev` instead (kept to measure and compare the two).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { catalogue } from '@meshmart/catalogue';
import { buildWeb } from '@meshmart/web/build';

export type BundleMode = 'all' | 'workspace';

export interface BundleOptions {
  /** Repository root. @default the parent of scripts/ */
  readonly root?: string;
  /** Where the bundles go. @default <root>/dist/services */
  readonly outDir?: string;
  /**
   * Services to bundle, by catalogue name. @default every catalogue service that has services/<name>/src/main.ts
   */
  readonly services?: readonly string[];
  /** Extra entry points by bundle name (e.g. a test fixture), besides the services. @default {} */
  readonly entries?: Readonly<Record<string, string>>;
  /** @default 'all' */
  readonly mode?: BundleMode;
  /** Minify syntax and whitespace (names are kept, so stack traces stay readable). @default true */
  readonly minify?: boolean;
}

export interface Bundle {
  readonly name: string;
  readonly entry: string;
  readonly file: string;
  readonly bytes: number;
}

/**
 * Packages some dependencies load with `require()` only when a feature is used and that are not installed (MongoDB's
 * optional compression, Kerberos, client-side encryption and cloud credential helpers). They stay `require()` calls
 * that fail, inside the driver's own try/catch, exactly as they do without a bundler.
 */
export const OPTIONAL_PEERS: readonly string[] = [
  '@aws-sdk/credential-providers',
  '@mongodb-js/zstd',
  'gcp-metadata',
  'kerberos',
  'mongodb-client-encryption',
  'snappy',
  'socks',
  'aws4',
  'pino-pretty',
];

/**
 * ESM output that contains CommonJS modules needs `require` (for Node built-ins) and `__filename`/`__dirname` in
 * module scope; esbuild does not provide them for ESM, so each bundle starts with them.
 */
const CJS_SHIM = [
  "import { createRequire as __meshmartCreateRequire } from 'node:module';",
  "import { fileURLToPath as __meshmartFileURLToPath } from 'node:url';",
  "import { dirname as __meshmartDirname } from 'node:path';",
  'const require = __meshmartCreateRequire(import.meta.url);',
  'const __filename = __meshmartFileURLToPath(import.meta.url);',
  'const __dirname = __meshmartDirname(__filename);',
].join('\n');

/**
 * `all` mode: the optional peers stay external only where an npm package asks for them (MongoDB's optional
 * `require('@aws-sdk/credential-providers')`); the kit's own lazy SigV4 signer imports that package too, and there it
 * is bundled into a chunk of its own that loads on the first signed call.
 */
const optionalPeersExternal: Plugin = {
  name: 'optional-peers-external',
  setup(b) {
    const names = OPTIONAL_PEERS.map((n) => n.replace(/[/\\^$.*+?()[\]{}|-]/g, '\\$&')).join('|');
    b.onResolve({ filter: new RegExp(`^(?:${names})(?:/|$)`) }, (args) =>
      args.importer.includes(`${sep}node_modules${sep}`) ? { path: args.path, external: true } : undefined,
    );
  },
};

/** In `workspace` mode: every bare import is external except the workspace packages (@meshmart/*). */
const npmPackagesExternal: Plugin = {
  name: 'npm-packages-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@meshmart/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/**
 * Files a service reads at run time next to its sources (`new URL('../data/products.json', import.meta.url)`): the
 * bundle lives elsewhere, so each such URL is rewritten to `./assets/<path in the repository>` and the file (or
 * directory) is copied there. Every output file sits directly in the output directory (chunks included), so that
 * one relative URL is right from any of them.
 */
function runtimeAssets(root: string, found: Set<string>): Plugin {
  const pattern = /new URL\(\s*(['"])(\.{1,2}\/[^'"]*)\1\s*,\s*import\.meta\.url\s*\)/g;
  return {
    name: 'runtime-assets',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const contents = source.replace(pattern, (all, quote: string, rel: string) => {
          const target = resolve(dirname(args.path), rel);
          const inRepo = relative(root, target);
          if (!existsSync(target) || inRepo.startsWith('..')) return all;
          found.add(inRepo);
          const slash = rel.endsWith('/') ? '/' : '';
          return `new URL(${quote}./assets/${inRepo.split(sep).join('/')}${slash}${quote}, import.meta.url)`;
        });
        return { contents, loader: 'ts' };
      });
    },
  };
}

const defaultRoot = fileURLToPath(new URL('..', import.meta.url));

/** The services that can be bundled: catalogue order, those with a src/main.ts. */
export function bundleableServices(root: string = defaultRoot): string[] {
  return catalogue
    .map((s) => s.name)
    .filter((name) => existsSync(join(root, 'services', name, 'src', 'main.ts')));
}

/** Bundles the services (and extra entries); returns one Bundle per output file, in input order. */
export async function bundleServices(options: BundleOptions = {}): Promise<Bundle[]> {
  const root = resolve(options.root ?? defaultRoot);
  const outDir = resolve(options.outDir ?? join(root, 'dist', 'services'));
  const mode = options.mode ?? 'all';
  const known = new Set<string>(catalogue.map((s) => s.name));
  const names = options.services ?? bundleableServices(root);
  const entries: [string, string][] = [];
  for (const name of names) {
    if (!known.has(name))
      throw new Error(
        `build-images: '${name}' is not in the catalogue (services/catalogue/src/catalogue.ts)`,
      );
    const entry = join(root, 'services', name, 'src', 'main.ts');
    if (!existsSync(entry)) throw new Error(`build-images: ${relative(root, entry)} does not exist`);
    entries.push([name, entry]);
  }
  for (const [name, entry] of Object.entries(options.entries ?? {}))
    entries.push([name, resolve(root, entry)]);
  if (entries.length === 0) return [];

  // Stale bundles and chunks of a previous build must not linger (only what this function writes is removed).
  if (existsSync(outDir))
    for (const name of readdirSync(outDir))
      if (name.endsWith('.mjs') || name === 'assets' || name === 'web')
        rmSync(join(outDir, name), { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  // One build of every entry with code splitting: the kit and the npm packages every service uses land once in a
  // shared chunk (dist/services/chunk-<hash>.mjs), so the image holds them once instead of once per service.
  const assets = new Set<string>();
  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(entries),
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Prefer the ESM build of dual packages: smaller and tree-shaken.
    mainFields: ['module', 'main'],
    conditions: ['module'],
    minify: options.minify ?? true,
    keepNames: true,
    legalComments: 'eof',
    sourcemap: false,
    logLevel: 'silent',
    metafile: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    banner: mode === 'all' ? { js: CJS_SHIM } : {},
    plugins: [
      runtimeAssets(root, assets),
      ...(mode === 'workspace' ? [npmPackagesExternal] : [optionalPeersExternal]),
    ],
  });
  for (const e of result.errors) throw new Error(`build-images: ${e.text}`);
  for (const asset of [...assets].sort())
    cpSync(join(root, asset), join(outDir, 'assets', asset), { recursive: true });
  // The gateway serves the web UI: built beside the bundles, where @meshmart/web's prepareWebRoot() finds it.
  if (entries.some(([name]) => name === 'gateway')) await buildWeb(join(outDir, 'web'));
  const bundles: Bundle[] = entries.map(([name, entry]) => {
    const file = join(outDir, `${name}.mjs`);
    return { name, entry, file, bytes: statSync(file).size };
  });
  return bundles;
}

/** Every file the last build wrote under outDir (bundles and shared chunks) and their total size. */
export function outputSize(outDir: string): { readonly files: number; readonly bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        files++;
        bytes += statSync(path).size;
      }
    }
  };
  if (existsSync(outDir)) walk(outDir);
  return { files, bytes };
}

/**
 * `meshmart/services:<version of the root package.json>`; never `latest`. The repository is written here and not
 * imported from mesh/names.ts (IMAGE_REPOSITORY): the Dockerfile's build stage has only this file and services/ in
 * its context (test/deploy/dockerfile.test.ts); test/deploy/synthesized.test.ts holds the two equal.
 */
export function imageTag(root: string = defaultRoot): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return `meshmart/services:${pkg.version}`;
}

/** The `docker build` command of the one image of all services (the same as scripts/kind-up.sh runs). */
export function dockerBuildCommand(tag: string, root: string = defaultRoot): string[] {
  const version = tag.slice(tag.lastIndexOf(':') + 1);
  const dir = resolve(root);
  return [
    'docker',
    'build',
    '--tag',
    tag,
    '--build-arg',
    `VERSION=${version}`,
    '--file',
    join(dir, 'Dockerfile'),
    dir,
  ];
}

function humanBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

async function main(argv: readonly string[]): Promise<void> {
  let mode: BundleMode = 'all';
  let image = false;
  let dryRun = process.env.DRY_RUN === '1';
  let tag: string | undefined;
  let outDir: string | undefined;
  const services: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--mode') {
      const value = argv[++i];
      if (value !== 'all' && value !== 'workspace') throw new Error('build-images: --mode all|workspace');
      mode = value;
    } else if (arg === '--image') image = true;
    else if (arg === '--dry-run') dryRun = true;
    else if (arg === '--tag') tag = argv[++i];
    else if (arg === '--out') outDir = argv[++i];
    else if (arg.startsWith('-')) throw new Error(`build-images: unknown option ${arg}`);
    else services.push(arg);
  }
  if (image) {
    // The Dockerfile bundles inside its build stage; nothing local is needed besides the sources.
    const command = dockerBuildCommand(tag ?? imageTag());
    console.log(`+ ${command.join(' ')}`);
    if (!dryRun) execFileSync(command[0], command.slice(1), { stdio: 'inherit' });
    return;
  }
  const started = performance.now();
  const bundles = await bundleServices({
    mode,
    ...(services.length > 0 ? { services } : {}),
    ...(outDir ? { outDir } : {}),
  });
  if (bundles.length === 0) {
    console.log('build-images: no service has a src/main.ts yet: nothing to bundle');
    return;
  }
  const root = resolve(defaultRoot);
  for (const b of bundles) console.log(`  ${relative(root, b.file).padEnd(34)} ${humanBytes(b.bytes)}`);
  const out = outputSize(resolve(outDir ?? join(root, 'dist', 'services')));
  const ms = Math.round(performance.now() - started);
  console.log(
    `build-images: ${bundles.length} service(s), ${out.files} files, ${humanBytes(out.bytes)} in all (shared chunks included), ${ms} ms (mode ${mode})`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
