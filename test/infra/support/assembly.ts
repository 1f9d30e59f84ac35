import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const INFRA_DIR = fileURLToPath(new URL('../../../infra/', import.meta.url));
const CDK = fileURLToPath(new URL('../../../node_modules/.bin/cdk', import.meta.url));

/** A CloudFormation template as JSON. */
export interface Template {
  readonly Resources: Record<
    string,
    { Type: string; Properties?: any; Metadata?: any; DependsOn?: string[] }
  >;
  readonly [key: string]: unknown;
}

export interface CloudAssembly {
  readonly dir: string;
  /** Stack name -> template. */
  readonly templates: ReadonlyMap<string, Template>;
  /** Bytes per template file. */
  readonly sizes: ReadonlyMap<string, number>;
  readonly seconds: number;
  readonly output: string;
}

let synthesized: Promise<CloudAssembly> | undefined;

/**
 * `cdk synth` of every environment, once per test run (every infra test file shares it): the real CLI with the
 * app of infra/cdk.json, no AWS credentials, into a temporary folder.
 */
export function cloudAssembly(): Promise<CloudAssembly> {
  synthesized ??= synth();
  return synthesized;
}

async function synth(): Promise<CloudAssembly> {
  const dir = mkdtempSync(join(tmpdir(), 'meshmart-cdk-'));
  const started = performance.now();
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' };
  for (const k of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'])
    delete env[k];
  let output: string;
  try {
    const r = await promisify(execFile)(CDK, ['synth', '--quiet', '--no-notices', '--ci', '-o', dir], {
      cwd: INFRA_DIR,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    output = r.stdout + r.stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`cdk synth failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
  }
  const seconds = (performance.now() - started) / 1000;
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const templates = new Map<string, Template>();
  const sizes = new Map<string, number>();
  for (const [name, artifact] of Object.entries(manifest.artifacts)) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const text = readFileSync(join(dir, artifact.properties.templateFile), 'utf8');
    templates.set(name, JSON.parse(text) as Template);
    sizes.set(name, Buffer.byteLength(text));
  }
  return { dir, templates, sizes, seconds, output };
}

/** The template of one environment's stack. */
export async function template(environment: string): Promise<Template> {
  const t = (await cloudAssembly()).templates.get(`MeshMart-${environment}`);
  if (!t)
    throw new Error(
      `no stack MeshMart-${environment} in the cloud assembly; is it in infra/lib/environments.ts?`,
    );
  return t;
}

/** Resources of one type, by logical id. */
export function resourcesOf(t: Template, type: string): [string, any][] {
  return Object.entries(t.Resources).filter(([, r]) => r.Type === type);
}

/**
 * A property's value with CloudFormation references turned into markers: a role's ARN becomes `<<role:LogicalId>>`,
 * any other `Fn::GetAtt` `<<LogicalId.Attr>>`, a `Ref` `<<ref:LogicalId>>`, so JSON kept in a string can be parsed.
 */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, any>;
    if ('Fn::Join' in v) return (v['Fn::Join'][1] as unknown[]).map(flatten).join(v['Fn::Join'][0] as string);
    if ('Fn::GetAtt' in v) {
      const [id, attr] = v['Fn::GetAtt'] as [string, string];
      return attr === 'Arn' ? `<<role:${id}>>` : `<<${id}.${attr}>>`;
    }
    if ('Ref' in v) return `<<ref:${String(v.Ref)}>>`;
    // Any other intrinsic (the OIDC issuer is a Select over a Split): a stable marker of its text.
    const [fn] = Object.keys(v);
    if (fn?.startsWith('Fn::')) return `<<${fn}:${JSON.stringify(v[fn]).replace(/[^A-Za-z0-9]/g, '')}>>`;
  }
  throw new Error(`flatten: cannot flatten ${JSON.stringify(value).slice(0, 200)}`);
}

/** Every Kubernetes object the stack applies (KubernetesManifest custom resources), references as markers. */
export function kubernetesObjects(t: Template): any[] {
  return resourcesOf(t, 'Custom::AWSCDK-EKS-KubernetesResource').flatMap(
    ([, r]) => JSON.parse(flatten(r.Properties.Manifest)) as any[],
  );
}

/** A Helm release the stack installs (references in its values as markers). */
export interface HelmRelease {
  /** Logical id of the custom resource. */
  readonly id: string;
  readonly chart: string;
  readonly version?: string;
  readonly namespace: string;
  readonly values: any;
  readonly skipCrds: boolean;
  readonly dependsOn: readonly string[];
}

/** The Helm releases the stack installs: chart, version, namespace and values (references as markers). */
export function helmReleases(t: Template): HelmRelease[] {
  return resourcesOf(t, 'Custom::AWSCDK-EKS-HelmChart').map(([id, r]) => ({
    id,
    chart: (r.Properties.Chart as string | undefined) ?? 'asset',
    version: r.Properties.Version as string | undefined,
    namespace: r.Properties.Namespace as string,
    values: r.Properties.Values ? JSON.parse(flatten(r.Properties.Values)) : {},
    skipCrds: r.Properties.SkipCrds === true,
    dependsOn: r.DependsOn ?? [],
  }));
}

/** One statement of an identity policy, its actions and resources as lists, references as markers. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string[];
  readonly Resource: string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement of the AWS::IAM::Policy resources attached to the role with this logical id. */
export function roleStatements(t: Template, roleId: string): Statement[] {
  return resourcesOf(t, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as { Ref?: string }[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument.Statement as any[]).map(normalizeStatement));
}

/** Every statement of every AWS::IAM::Policy of the template, with the logical ids of the roles it is attached to. */
export function allStatements(t: Template): { roles: string[]; statement: Statement }[] {
  return resourcesOf(t, 'AWS::IAM::Policy').flatMap(([, p]) =>
    (p.Properties.PolicyDocument.Statement as any[]).map((st) => ({
      roles: (p.Properties.Roles as { Ref?: string }[]).flatMap((r) => (r.Ref ? [r.Ref] : [])),
      statement: normalizeStatement(st),
    })),
  );
}

function normalizeStatement(st: any): Statement {
  return {
    ...st,
    Action: [st.Action].flat() as string[],
    Resource: [st.Resource].flat().map(flatten),
  };
}
