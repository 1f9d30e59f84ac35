import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  'BENCHMARKS.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
// Top-level entries a path in the docs may start with; anything else (a Kubernetes object, a URL path) is not a file.
const TOP = new Set(
  readdirSync(ROOT).filter((f) => !['node_modules', 'dist', '.git', '.testenv'].includes(f)),
);
// Written by tools, never committed: named in the docs as outputs.
const GENERATED =
  /^(dist|infra\/cdk\.out|bench\/results|bench\/out|artifacts|\.testenv|services\/web\/dist)(\/|$)/;
const PLACEHOLDER = /[<>…*{}$|]|\.\.\.|\bNAME\b/;

const makeTargets = new Set(
  [...readFileSync(join(ROOT, 'Makefile'), 'utf8').matchAll(/^([a-z][a-z-]*):/gm)].map((m) => m[1]),
);
const npmScripts = new Set(
  Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: object }).scripts),
);

/** Inline code spans and fenced code lines (less their comments): where commands and paths are written. */
function codeOf(text: string): string[] {
  const fenced = [...text.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm)].flatMap((m) =>
    m[1].split('\n').map((line) => line.replace(/(^|\s)(#|\/\/).*$/, '')),
  );
  const prose = text.replace(/^```[a-z]*\n[\s\S]*?^```/gm, '');
  return [...fenced, ...[...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1])];
}

function headingSlugs(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set(
    [...text.matchAll(/^#+\s+(.*)$/gm)].map((m) =>
      m[1]
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

interface Problem {
  readonly doc: string;
  readonly what: string;
}

/** What is wrong in `text`, the content of `doc` (a path from the repository root). */
function check(doc: string, text = readFileSync(join(ROOT, doc), 'utf8')): Problem[] {
  const problems: Problem[] = [];
  const say = (what: string): void => void problems.push({ doc, what });
  const prose = text.replace(/^```[a-z]*\n[\s\S]*?^```/gm, '');

  for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^(https?:|mailto:)/.test(target)) continue;
    const [path, anchor] = target.split('#') as [string, string | undefined];
    const file = path === '' ? join(ROOT, doc) : resolve(dirname(join(ROOT, doc)), path);
    if (relative(ROOT, file).startsWith('..')) say(`link ${target} leaves the repository`);
    else if (!existsSync(file)) say(`link ${target}: no such file`);
    else if (anchor && file.endsWith('.md') && !headingSlugs(file).has(anchor))
      say(`link ${target}: no heading #${anchor}`);
  }

  for (const code of codeOf(text)) {
    // A command, not prose: `make x` at the start of the span or line, or after && ; or (.
    for (const m of code.matchAll(/(?:^\s*|&&\s*|\(\s*)make ([a-z][a-z-]*)/g))
      if (!makeTargets.has(m[1])) say(`make ${m[1]}: no such target in the Makefile (in \`${code}\`)`);
    for (const m of code.matchAll(/\bnpm (?:run(?: --silent)? )?([a-z][a-z:-]*)/g)) {
      const script = m[1];
      if (['ci', 'install', 'ls', 'exec', 'run', 'version'].includes(script)) continue;
      if (!npmScripts.has(script)) say(`npm script ${script} is not in package.json (in \`${code}\`)`);
    }
    for (const m of code.matchAll(/\bnpx (?:tsx|mocha)((?: +\S+)+)/g)) {
      for (const raw of m[1].trim().split(/ +/)) {
        const arg = raw.replace(/^['"]|['"]$/g, '');
        if (arg.startsWith('-') || !/\.(ts|mjs|js)$/.test(arg.replace(/\*\*\/\*\.test\.ts$/, '.ts')))
          continue;
        if (PLACEHOLDER.test(arg.replace(/\*\*\/\*\.test\.ts$/, ''))) continue;
        const path = arg.replace(/\/\*\*\/\*\.test\.ts$/, '');
        if (!existsSync(join(ROOT, path)))
          say(`${path} (npx ${code.includes('mocha') ? 'mocha' : 'tsx'}) does not exist`);
      }
    }
    // bench/run.ts (and make bench ARGS="...") take benchmark names: bench/<name>.ts is each one's file.
    for (const m of code.matchAll(
      /(?:bench\/run\.ts|make bench ARGS=["'])((?: +[\w-]+)+|[\w-]+(?: +[\w-]+)*)/g,
    ))
      for (const name of m[1].trim().split(/ +/))
        if (!name.startsWith('-') && !existsSync(join(ROOT, 'bench', `${name}.ts`)))
          say(`benchmark ${name}: there is no bench/${name}.ts (in \`${code}\`)`);
    for (const m of code.matchAll(/(?:^|[\s(=,'"])((?:\.\/)?[A-Za-z.][\w.-]*(?:\/[\w.@-]+)+\/?)/g)) {
      const path = m[1].replace(/^\.\//, '').replace(/[.,:;]+$/, '');
      const top = path.split('/')[0];
      const next = code[(m.index ?? 0) + m[0].length] ?? '';
      if (!TOP.has(top) || GENERATED.test(path) || PLACEHOLDER.test(path) || PLACEHOLDER.test(next)) continue;
      if (!existsSync(join(ROOT, path))) say(`${path} does not exist (in \`${code}\`)`);
      else if (path.endsWith('/') && !statSync(join(ROOT, path)).isDirectory())
        say(`${path} is not a directory`);
    }
  }
  return problems;
}

// The docs are the first thing a newcomer follows: every file, make target, npm script and command path they name
// must be there, and no link may point outside the repository.
describe('docs: every file and command they name exists', () => {
  for (const doc of DOCS)
    it(`when ${doc} is read, then its links, make targets, npm scripts and paths all exist in the repository`, () => {
      expect(check(doc).map((p) => p.what)).to.deep.equal([]);
    });

  it('when a doc links outside the repository or names a missing file, then the check says so', () => {
    const problems = check(
      'docs/probe.md',
      'see [the plan](../../shared/PLAN.md), `scripts/nothing-here.ts`, `make nothing` and `npx tsx bench/run.ts checkout chekout --record`',
    ).map((p) => p.what);
    expect(problems).to.deep.equal([
      'link ../../shared/PLAN.md leaves the repository',
      'scripts/nothing-here.ts does not exist (in `scripts/nothing-here.ts`)',
      'make nothing: no such target in the Makefile (in `make nothing`)',
      'benchmark chekout: there is no bench/chekout.ts (in `npx tsx bench/run.ts checkout chekout --record`)',
    ]);
  });
});
