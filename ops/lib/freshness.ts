import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// `from './x.ts'`, `import './x.ts'`, `import('./x.ts')`; and `new URL('../dir/', import.meta.url)` for files read
// at run time (a template literal counts up to its first `${`: the whole directory).
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;
const URL_REF = /new URL\(\s*['"`]([^'"`$]*)/g;

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** The folder of workspace package `@meshmart/<name>`: `services/<name>/`, or a part at the root (`mesh/`, `cdk8s/`, …). */
function workspaceDir(name: string, root: string): string | undefined {
  const service = join(root, 'services', name);
  if (existsSync(join(service, 'package.json'))) return service;
  const part = join(root, name);
  const pkgFile = join(part, 'package.json');
  return existsSync(pkgFile) &&
    (JSON.parse(readFileSync(pkgFile, 'utf8')) as { name?: string }).name === `@meshmart/${name}`
    ? part
    : undefined;
}

/** `@meshmart/<pkg>/<sub>` through the workspace package's `exports` (a subpath, or a pattern such as `./*`). */
function workspaceModule(specifier: string, root: string): string | undefined {
  const m = /^@meshmart\/([^/]+)(\/.*)?$/.exec(specifier);
  if (!m) return undefined;
  const dir = workspaceDir(m[1], root);
  if (!dir) return undefined;
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    exports?: Record<string, unknown>;
  };
  const subpath = `.${m[2] ?? ''}`;
  let target = pkg.exports?.[subpath];
  if (target === undefined)
    for (const [key, value] of Object.entries(pkg.exports ?? {})) {
      const [prefix, suffix, ...rest] = key.split('*');
      if (suffix === undefined || rest.length > 0 || typeof value !== 'string') continue;
      if (
        subpath.startsWith(prefix) &&
        subpath.endsWith(suffix) &&
        subpath.length >= prefix.length + suffix.length
      ) {
        target = value.replaceAll('*', subpath.slice(prefix.length, subpath.length - suffix.length));
        break;
      }
    }
  const path =
    typeof target === 'string'
      ? target
      : ((target as { import?: string; default?: string } | undefined)?.import ??
        (target as { default?: string } | undefined)?.default);
  return path ? join(dir, path) : undefined;
}

/**
 * Every file a synthesis reads: the modules reachable from `entry` by relative and workspace imports (packages from
 * node_modules excluded), the files and directories they read through `new URL(…, import.meta.url)`, and the root
 * package.json (the image tag). Paths are absolute.
 */
export function synthesisInputs(entry = join(ROOT, 'cdk8s/main.ts'), root = ROOT): string[] {
  const seen = new Set<string>();
  const queue = [resolve(entry)];
  const data = new Set<string>([join(root, 'package.json')]);
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, spec] of text.matchAll(IMPORT)) {
      const target = spec.startsWith('.') ? resolve(dirname(file), spec) : workspaceModule(spec, root);
      if (target?.endsWith('.ts')) queue.push(target);
    }
    for (const [, ref] of text.matchAll(URL_REF))
      if (ref.startsWith('.')) for (const f of filesUnder(resolve(dirname(file), ref))) data.add(f);
  }
  return [...seen, ...data].sort();
}

export interface Staleness {
  /** Source files changed after the oldest manifest of the directory was written, newest first, relative to root. */
  readonly newer: readonly string[];
}

/**
 * Whether the manifests in `dir` were written before one of the synthesis inputs last changed (by modification time,
 * as make decides). Undefined when they are up to date or when `dir` holds no YAML.
 */
export function staleness(dir: string, root = ROOT): Staleness | undefined {
  const manifests = existsSync(dir)
    ? readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    : [];
  if (manifests.length === 0) return undefined;
  const written = Math.min(...manifests.map((f) => statSync(join(dir, f)).mtimeMs));
  const newer = synthesisInputs(join(root, 'cdk8s/main.ts'), root)
    .map((f) => ({ f, t: statSync(f).mtimeMs }))
    .filter(({ t }) => t > written)
    .sort((a, b) => b.t - a.t)
    .map(({ f }) => relative(root, f));
  return newer.length > 0 ? { newer } : undefined;
}
