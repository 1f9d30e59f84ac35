import { existsSync, readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The import direction of docs/architecture.md ("The parts, and what each may import"), held at lint time: each ban is
// a regular expression over the specifier as written. test/architecture.test.ts checks the resolved paths too.
const SOURCE_FILE = '*.{ts,tsx,mts,cts,js,mjs}';
const SOURCES = `**/${SOURCE_FILE}`;
/** Every workspace package under services/: the catalogue, the kit, contracts, web and the services. */
const PACKAGES = readdirSync(new URL('./services/', import.meta.url), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(new URL(`./services/${e.name}/package.json`, import.meta.url)))
  .map((e) => e.name);
const DEPLOYMENT = ['bench', 'cdk8s', 'infra', 'mesh', 'observability', 'ops', 'scripts', 'test'];
/**
 * What each package may import of the others, by name (a service: the catalogue, the kit and contracts);
 * `(?:/.*)?`: any export. The catalogue, the system's description, imports nothing; everyone may import it.
 */
const PACKAGE_MAY = {
  catalogue: [],
  kit: ['catalogue'],
  contracts: ['catalogue', 'kit(?:/.*)?'],
  web: [],
  gateway: ['catalogue', 'kit(?:/.*)?', 'contracts(?:/.*)?', 'web'],
};
const SERVICE_MAY = ['catalogue', 'kit(?:/.*)?', 'contracts(?:/.*)?'];
/** `@meshmart/<service>/metrics`, a service's metric declarations (pure data): all deployment code may import of one. */
const NOT_SERVICES = ['catalogue', 'kit', 'contracts', 'web'];
const SERVICE_METRICS = `(?:${PACKAGES.filter((p) => !NOT_SERVICES.includes(p)).join('|')})/metrics`;
const UP = String.raw`^(?:\.\./)+`;
/** The deployment parts that are workspace packages (`@meshmart/<part>`, their own package.json, exports `./*`). */
const PARTS = ['mesh', 'cdk8s', 'observability', 'ops'];
const DEPLOYMENT_PACKAGES = `@meshmart/(?:${PARTS.join('|')})(?:/|$)`;

/**
 * A block that fails each import in `files` whose specifier matches a ban: static imports and re-exports
 * (no-restricted-imports), and import() of a string literal (no-restricted-syntax). The blocks' files must not
 * overlap: a later block's options for a rule replace an earlier one's.
 */
function importBans(files, bans) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: bans.map(({ regex, message }) => ({ regex, message })) },
      ],
      'no-restricted-syntax': [
        'error',
        // an unescaped '/' would end esquery's /regex/
        ...bans.map(({ regex, message }) => ({
          selector: `ImportExpression > Literal.source[value=/${regex.replaceAll('/', String.raw`\/`)}/]`,
          message,
        })),
      ],
    },
  };
}

/**
 * The blocks of `dir`: `bans`, and a ban of each relative path out of `dir` into a part in `PARTS`, which is imported
 * by package name. One block per depth below `dir` (the last: that depth and deeper), so that `../` counts exactly the
 * levels up to the repository root: test/observability/x.ts may import '../cdk8s/support.ts' (test/cdk8s/).
 */
function withPartPathBans(dir, bans) {
  const others = PARTS.filter((p) => p !== dir);
  const message = `${dir}/ imports ${others.map((p) => `${p}/`).join(', ')} by package name (@meshmart/<part>/<file>.ts), never by a path out of ${dir}/ (docs/architecture.md)`;
  const deepest = 6;
  return Array.from({ length: deepest }, (_, i) => {
    const last = i + 1 === deepest;
    return importBans(
      [`${dir}/${'*/'.repeat(i)}${last ? '**/' : ''}${SOURCE_FILE}`],
      [
        { regex: String.raw`^(?:\.\./){${i + 1}${last ? ',' : ''}}(?:${others.join('|')})(?:/|$)`, message },
        ...bans,
      ],
    );
  });
}

function packageBans(name) {
  const may = PACKAGE_MAY[name] ?? SERVICE_MAY;
  const packages = may.map((m) => `@meshmart/${m.replace('(?:/.*)?', '')}`);
  const part =
    name === 'kit'
      ? 'the kit knows no service: services/kit/'
      : name === 'catalogue'
        ? 'the catalogue describes the system and runs nothing: services/catalogue/'
        : `services/${name}/`;
  const rule =
    packages.length > 0 ? `imports only ${packages.join(', ')}, by package name` : 'imports no other part';
  return importBans(
    [`services/${name}/${SOURCES}`],
    [
      {
        // two levels up at least: a package has folders of its own (services/catalog/scripts/)
        regex: String.raw`^(?:\.\./){2,}(?:${DEPLOYMENT.join('|')})(?:/|$)`,
        message: `runtime code (services/) never imports deployment code (${DEPLOYMENT.join('/, ')}/)`,
      },
      {
        regex: `${UP}(?:services/)?(?:${PACKAGES.filter((p) => p !== name).join('|')})(?:/|$)`,
        message: `${part} never imports another package's files; it ${rule} (docs/architecture.md)`,
      },
      {
        regex: `^${DEPLOYMENT_PACKAGES}`,
        message: `runtime code (services/) never imports deployment code (@meshmart/${PARTS.join(', @meshmart/')})`,
      },
      {
        regex: `^@meshmart/(?!${packages.length > 0 ? `(?:${may.join('|')})$|` : ''}(?:${PARTS.join('|')})(?:/|$))`,
        message: `${part} ${rule} (docs/architecture.md)`,
      },
    ],
  );
}

/**
 * mesh/, cdk8s/ and observability/ read the catalogue and the kit by package name, and of the kit only the modules
 * docs/architecture.md lists; of a service, only its metric declarations; of the other deployment parts, `parts`:
 * `[regex, as written in the message]` each, over the specifier after `@meshmart/`.
 */
function deploymentBans(part, kitModules, parts) {
  const modules = ['catalogue', ...kitModules.map((m) => `kit/${m}`)];
  const allowed = [
    ...modules.map((m) => `@meshmart/${m}`),
    '@meshmart/<service>/metrics',
    ...parts.map(([, text]) => `@meshmart/${text}`),
  ].join(', ');
  return withPartPathBans(part, [
    {
      regex: `${UP}services(?:/|$)`,
      message: `${part}/ imports the catalogue and the kit by package name (${allowed}), never a path into services/`,
    },
    {
      regex: `^@meshmart/(?!(?:${[...modules, SERVICE_METRICS, ...parts.map(([regex]) => regex)].join('|')})$)`,
      message: `${part}/ may import only ${allowed} of the workspace packages (docs/architecture.md)`,
    },
  ]);
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      // test servers' state: the test node's containers' root filesystems live there
      '.testenv/**',
      'dist/**',
      'services/web/dist/**',
      'cdk8s/imports/**',
      'infra/cdk.out/**',
      '**/*.cjs',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      eqeqeq: ['error', 'always'],
      'no-console': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'cdk8s/main.ts'],
    rules: {
      'no-console': 'off',
      // supertest and JSON bodies are `any` by nature; tests assert on their shape instead.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...PACKAGES.map(packageBans),
  // mesh/: the generated cdk8s/imports/ it renders with; observability/: the names module; cdk8s/: mesh/ and observability/
  ...deploymentBans(
    'mesh',
    ['upstream-policy'],
    [[String.raw`cdk8s/imports/[^/]+\.ts`, 'cdk8s/imports/*.ts']],
  ),
  ...deploymentBans(
    'observability',
    ['metric-declarations'],
    [[String.raw`mesh/names\.ts`, 'mesh/names.ts']],
  ),
  ...deploymentBans(
    'cdk8s',
    [],
    [
      ['mesh/.+', 'mesh/*'],
      ['observability/.+', 'observability/*'],
    ],
  ),
  ...withPartPathBans('ops', [
    {
      // kind-manifests.ts: the manifest reader ops/lib/manifests.ts shares with kind-up.sh, as the table says
      regex: String.raw`^(?:\.\./)+scripts/(?!kind-manifests\.ts$)`,
      message: 'ops/ does not import scripts/ (docs/architecture.md)',
    },
    {
      regex: `${UP}services(?:/|$)`,
      message: 'ops/ imports the catalogue by its package name (@meshmart/catalogue)',
    },
    {
      regex: `^@meshmart/(?!(?:catalogue|kit/metric-declarations|kit/metrics|${SERVICE_METRICS}|cdk8s/.+|mesh/.+)$)`,
      message:
        'ops/ may import only @meshmart/catalogue, @meshmart/kit/metric-declarations, @meshmart/kit/metrics, @meshmart/<service>/metrics, @meshmart/cdk8s/* and @meshmart/mesh/* of the workspace packages (docs/architecture.md)',
    },
  ]),
  ...withPartPathBans('scripts', [
    {
      regex: `${UP}services/(?:kit|catalogue)(?:/|$)`,
      message:
        'scripts/ import the kit and the catalogue by package name (@meshmart/kit/..., @meshmart/catalogue)',
    },
    {
      regex: String.raw`^@meshmart/(?:observability|ops(?:/|$)|mesh/(?!names\.ts$))`,
      message:
        'scripts/ may import of the deployment parts only @meshmart/cdk8s/* and @meshmart/mesh/names.ts (docs/architecture.md)',
    },
  ]),
  ...withPartPathBans('infra', [
    {
      regex: String.raw`^@meshmart/(?:mesh|observability|ops)(?:/|$)`,
      message: 'infra/ may import of the deployment parts only @meshmart/cdk8s/* (docs/architecture.md)',
    },
  ]),
  ...withPartPathBans('test', []),
  {
    // Metrics are made from declarations by the kit's Metrics alone (services/kit/src/metrics.ts), which throws on a
    // conflicting one; a prom-client metric made elsewhere would bypass that check.
    files: [SOURCES],
    ignores: ['services/kit/src/metrics.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'prom-client',
              importNames: ['Counter', 'Gauge', 'Histogram', 'Summary'],
              allowTypeImports: true,
              message:
                "metrics are made from a declaration (defineCounter... in @meshmart/kit/metric-declarations or the service's src/metrics.ts) by the kit's Metrics or DeclaredMetrics.of(registry), never with new Counter/Gauge/Histogram",
            },
          ],
        },
      ],
    },
  },
  ...withPartPathBans('bench', [
    {
      // the SigV4 signer: the kit loads it lazily and does not export it; bench/sigv4.ts measures it alone
      regex: String.raw`^(?:\.\./)+services/(?:catalogue/|kit/(?!src/http/sigv4-signer\.ts$))`,
      message:
        'bench/ imports the kit and the catalogue by package name (@meshmart/kit/..., @meshmart/catalogue)',
    },
  ]),
);
