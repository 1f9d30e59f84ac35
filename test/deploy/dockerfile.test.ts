import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { catalogue } from '@meshmart/catalogue';

// No registry is reachable here, so the image cannot be built; the Dockerfile is checked against the rules hadolint
// and the issue ask for, and against what the bundler and the manifests expect. (The bundles themselves are run the
// way the runtime stage runs them in bundle.test.ts.)

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly stage: string;
}

/** Instructions with their stage name; continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  let stage = '';
  for (const line of joined.split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, op, args] = m as unknown as [string, string, string];
    if (op === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? '';
    out.push({ op, args: args.trim(), stage });
  }
  return out;
}

/** Docker's .dockerignore semantics for the patterns used here: last match wins, `!` re-includes, a match on a
 * directory covers what is inside it. */
function ignored(patterns: readonly string[], path: string): boolean {
  const toRegExp = (glob: string): RegExp =>
    new RegExp(
      `^${glob
        .replace(/\/$/, '')
        .split('**')
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
        )
        .join('.*')}(/.*)?$`,
    );
  let result = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const glob = negated ? raw.slice(1) : raw;
    if (toRegExp(glob).test(path)) result = !negated;
  }
  return result;
}

describe('deploy: Dockerfile and .dockerignore', function () {
  it('when `make images` runs dry, then it prints the docker build of meshmart/services:<package version>', async function () {
    this.timeout(60000);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/build-images.ts', '--image', '--dry-run'],
      { cwd: root },
    );
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
      .version;
    expect(stdout.trim()).to.equal(
      `+ docker build --tag meshmart/services:${version} --build-arg VERSION=${version} --file ${join(root, 'Dockerfile')} ${root.replace(/\/$/, '')}`,
    );
  });

  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const steps = parseDockerfile(dockerfile);
  const patterns = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const runtime = steps.filter((s) => s.stage === 'runtime');
  const last = <T>(xs: readonly T[]): T | undefined => xs[xs.length - 1];

  it('when the base image is read, then it is Node 20 slim pinned by exact version, matching package.json engines', function () {
    const arg = steps.find((s) => s.op === 'ARG' && s.args.startsWith('NODE_IMAGE='));
    const image = arg?.args.slice('NODE_IMAGE='.length);
    expect(image).to.match(/^node:20\.\d+\.\d+-bookworm-slim$/);
    const [major, minor] = /node:(\d+)\.(\d+)/.exec(image!)!.slice(1).map(Number) as [number, number];
    const engines = (
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node;
    const [, emajor, eminor] = /(\d+)\.(\d+)/.exec(engines)!.map(Number) as [number, number, number];
    expect(major).to.equal(emajor);
    expect(minor).to.be.at.least(eminor);
    for (const from of steps.filter((s) => s.op === 'FROM'))
      expect(from.args).to.match(/^\$\{NODE_IMAGE\} AS \w+$/);
    expect(dockerfile).not.to.match(/:latest\b/);
  });

  it('when the stages are read, then dependencies are installed once, bundled, and only the bundles reach the runtime', function () {
    expect(steps.filter((s) => s.op === 'FROM').map((s) => s.stage)).to.deep.equal([
      'manifests',
      'build',
      'runtime',
    ]);
    const build = steps.filter((s) => s.stage === 'build');
    expect(build.some((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args))).to.equal(true);
    const bundle = build.find((s) => s.op === 'RUN' && s.args.includes('scripts/build-images.ts'));
    const out = /--out (\S+)/.exec(bundle?.args ?? '')?.[1];
    expect(out).to.be.a('string');
    const copies = runtime.filter((s) => s.op === 'COPY');
    expect(copies.map((c) => c.args)).to.deep.equal([`--from=build ${out} ./dist`]);
    expect(runtime.filter((s) => s.op === 'RUN').some((s) => /\bnpm (ci|install)\b/.test(s.args))).to.equal(
      false,
    );
    expect(steps.some((s) => s.op === 'ADD')).to.equal(false);
  });

  it('when the runtime stage is read, then it drops npm and yarn and runs as uid 10001 with node as PID 1', function () {
    const run = runtime
      .filter((s) => s.op === 'RUN')
      .map((s) => s.args)
      .join('\n');
    for (const tool of ['/usr/local/bin/npm', '/usr/local/bin/npx', '/usr/local/bin/corepack', '/opt/yarn-*'])
      expect(run).to.include(tool);
    expect(last(steps.filter((s) => s.op === 'USER'))?.args).to.equal('10001:10001');
    expect(runtime.find((s) => s.op === 'WORKDIR')?.args).to.equal('/app');
    const entrypoint = last(steps.filter((s) => s.op === 'ENTRYPOINT'))!;
    expect(JSON.parse(entrypoint.args)).to.deep.equal(['node']); // exec form: no shell between the kernel and node
    expect(runtime.some((s) => s.op === 'ENV' && /NODE_ENV=production/.test(s.args))).to.equal(true);
  });

  it('when no command is given, then the image runs the public service of the catalogue from dist/<name>.mjs', function () {
    const cmd = JSON.parse(last(steps.filter((s) => s.op === 'CMD'))!.args) as string[];
    const publicService = catalogue.find((s) => s.public)!;
    expect(cmd).to.deep.equal([`dist/${publicService.name}.mjs`]);
    expect(runtime.find((s) => s.op === 'EXPOSE')?.args).to.equal(String(publicService.port));
    // The local layout (dist/services/<name>.mjs) resolves in the image too.
    expect(runtime.some((s) => s.op === 'RUN' && s.args === 'ln -s . dist/services')).to.equal(true);
  });

  it('when the build context is filtered by .dockerignore, then every COPY source is in it and nothing else is', function () {
    const sources = steps
      .filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    expect(sources).to.include.members([
      'package.json',
      'package-lock.json',
      'services',
      'scripts/build-images.ts',
    ]);
    for (const source of sources) expect(ignored(patterns, source), source).to.equal(false);
    for (const path of [
      'services/catalog/src/main.ts',
      'services/catalog/assets/images/x.svg',
      'services/kit/src/index.ts',
    ])
      expect(ignored(patterns, path), path).to.equal(false);
    for (const path of [
      'node_modules/express/index.js',
      'services/kit/node_modules/x/index.js',
      '.git/HEAD',
      'dist/kind/app.yaml',
      '.testenv/env',
      'test/deploy/chart.test.ts',
      'services/catalog/src/x.test.ts',
      'scripts/kind-up.sh',
      'cdk8s/main.ts',
    ])
      expect(ignored(patterns, path), path).to.equal(true);
  });

  it('when the build stage runs scripts/build-images.ts, then every file it imports by path is in the build context', function () {
    // The stage has only what it copies: a path import of mesh/ or cdk8s/ (the names module, say) would fail there.
    const script = readFileSync(join(root, 'scripts/build-images.ts'), 'utf8');
    const relative = [...script.matchAll(/^import\b[^;]*?from '(\.{1,2}\/[^']+)'/gms)].map((m) =>
      join('scripts', m[1]),
    );
    const copied = steps
      .filter((s) => s.op === 'COPY' && !s.args.startsWith('--from') && s.stage === 'build')
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    for (const file of relative) {
      expect(ignored(patterns, file), `${file} (imported by scripts/build-images.ts)`).to.equal(false);
      expect(
        copied.some((c) => file === c || file.startsWith(`${c}/`)),
        `${file} (imported by scripts/build-images.ts) is not copied into the build stage`,
      ).to.equal(true);
    }
  });
});
