import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Ajv,
  type AnySchemaObject,
  type ErrorObject,
  type FuncKeywordDefinition,
  type ValidateFunction,
} from 'ajv';

type DataValidateFunction = ReturnType<NonNullable<FuncKeywordDefinition['compile']>>;
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ??
  (addFormatsModule as unknown as AddFormats);

/** The vendored upstream CRDs (a byte-for-byte copy made by scripts/sync-crds.sh). */
export const CRD_DIR = fileURLToPath(new URL('../crds/', import.meta.url));

type Schema = Record<string, unknown>;

interface CrdVersion {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly schema: Schema;
}

export interface CrdValidator {
  /** Every problem of one custom resource; empty means valid. Unknown kinds and apiVersions are problems. */
  validate(obj: Record<string, unknown>): string[];
  /** `<apiVersion>/<kind>` of every served CRD version (parses every CRD). */
  kinds(): string[];
}

/**
 * Strict validation of custom resources against CRD schemas (as `kubectl --validate=strict` would, minus CEL):
 * unknown fields are rejected except under `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-list-type`
 * set/map entries must be unique, `x-kubernetes-int-or-string` accepts both, Go's `(?i)` regex prefix becomes the
 * `i` flag. CEL rules (`x-kubernetes-validations`) need an API server and are not evaluated.
 */
export function createCrdValidator(dir: string = CRD_DIR): CrdValidator {
  const crds = indexCrds(dir);
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    // Kubernetes schemas use `type` alongside `anyOf`/`nullable` freely; the type checks still run.
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    validateFormats: true,
    code: { regExp: goRegExp },
  });
  addFormats(ajv);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    type: 'array',
    schemaType: 'string',
    compile: listTypeCheck,
  });
  for (const keyword of [
    'x-kubernetes-list-map-keys',
    'x-kubernetes-map-type',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-int-or-string',
    'x-kubernetes-embedded-resource',
    'x-kubernetes-validations',
  ]) {
    ajv.addKeyword({ keyword });
  }

  const compiled = new Map<string, ValidateFunction>();

  return {
    kinds: () =>
      crds
        .flatMap((c) => c.versions())
        .map((v) => key(`${v.group}/${v.version}`, v.kind))
        .sort(),
    validate(obj: Record<string, unknown>): string[] {
      const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
      const kind = typeof obj.kind === 'string' ? obj.kind : '';
      const metadata = (obj.metadata ?? {}) as Record<string, unknown>;
      const name = typeof metadata.name === 'string' ? metadata.name : '';
      const label = `${kind || '<no kind>'} ${name || '<no name>'}`;
      const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
      const sameKind = crds.filter((c) => c.kind === kind).flatMap((c) => c.versions());
      const crd = sameKind.find((v) => v.group === group && `${v.group}/${v.version}` === apiVersion);
      if (!crd) {
        return [
          sameKind.length
            ? `${label}: apiVersion '${apiVersion}' is not served for ${kind}; use ${sameKind.map((v) => `${v.group}/${v.version}`).join(' or ')}`
            : `${label}: no CRD in cdk8s/crds defines kind '${kind}' in apiVersion '${apiVersion}'`,
        ];
      }
      const problems: string[] = [];
      if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) {
        problems.push(`${label}: metadata.name must be a lowercase DNS subdomain (a-z, 0-9, '-', '.')`);
      }
      if (!crd.namespaced && metadata.namespace !== undefined) {
        problems.push(`${label}: ${kind} is cluster-scoped; remove metadata.namespace`);
      }
      let validate = compiled.get(key(apiVersion, kind));
      if (!validate) {
        validate = ajv.compile(crd.schema);
        compiled.set(key(apiVersion, kind), validate);
      }
      if (!validate(obj)) problems.push(...(validate.errors ?? []).map((e) => `${label}: ${describe(e)}`));
      return problems;
    },
  };
}

let shared: CrdValidator | undefined;

/** Problems of one custom resource against the vendored CRDs (strict); empty means valid. */
export function validateCustomResource(obj: Record<string, unknown>): string[] {
  shared ??= createCrdValidator();
  return shared.validate(obj);
}

function key(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

interface IndexedCrd {
  readonly kind: string;
  /** Served versions, parsed from the YAML on first use. */
  versions(): readonly CrdVersion[];
}

/**
 * Finds each CRD's kind with a text scan and parses a CRD's YAML only when an object of that kind is validated:
 * parsing all 1.2 MB of CRDs up front costs seconds.
 */
function indexCrds(dir: string): IndexedCrd[] {
  const out: IndexedCrd[] = [];
  for (const file of yamlFiles(dir)) {
    for (const doc of readFileSync(file, 'utf8').split(/^---[ \t]*$/m)) {
      if (!/^kind: CustomResourceDefinition$/m.test(doc)) continue;
      const names = doc.slice(Math.max(0, doc.search(/^ {2}names:$/m)));
      const kind = /^ {4}kind: (\S+)$/m.exec(names)?.[1];
      let parsed: CrdVersion[] | undefined;
      const versions = (): readonly CrdVersion[] => (parsed ??= crdVersions(parse(doc) as Schema));
      if (kind) {
        out.push({ kind, versions });
      } else {
        // An unusual layout: parse now rather than guess.
        for (const v of versions()) out.push({ kind: v.kind, versions: () => [v] });
      }
    }
  }
  return out;
}

function crdVersions(crd: Schema): CrdVersion[] {
  const spec = crd.spec as {
    group: string;
    scope: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema?: { openAPIV3Schema: Schema } }[];
  };
  return spec.versions
    .filter((v) => v.served && v.schema)
    .map((v) => ({
      group: spec.group,
      version: v.name,
      kind: spec.names.kind,
      namespaced: spec.scope === 'Namespaced',
      schema: strictSchema(v.schema!.openAPIV3Schema),
    }));
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(entry) ? [path] : [];
    });
}

/** A copy of a structural schema with unknown fields closed off and int-or-string spelled out for Ajv. */
export function strictSchema(schema: Schema): Schema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const out: Schema = {};
    for (const [k, v] of Object.entries(node as Schema)) {
      // `properties` and `default`/`example` hold data or names, not schemas to rewrite as a whole.
      if (k === 'properties' && v && typeof v === 'object') {
        out[k] = Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, walk(s)]));
      } else if (k === 'default' || k === 'example' || k === 'enum') {
        out[k] = v;
      } else {
        out[k] = walk(v);
      }
    }
    if (out['x-kubernetes-int-or-string'] === true && out.type === undefined && out.anyOf === undefined) {
      out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    }
    if (
      out.type === 'object' &&
      out.properties !== undefined &&
      out.additionalProperties === undefined &&
      out['x-kubernetes-preserve-unknown-fields'] !== true
    ) {
      out.additionalProperties = false;
    }
    return out;
  };
  return walk(schema) as Schema;
}

/** Go/RE2 allows a leading `(?i)`; JavaScript spells it as the `i` flag. */
function goRegExp(pattern: string, flags: string): RegExp {
  const match = /^(\^?)\(\?i\)/.exec(pattern);
  if (match) return new RegExp(match[1] + pattern.slice(match[0].length), `${flags}i`);
  return new RegExp(pattern, flags);
}
goRegExp.code = 'new RegExp';

function listTypeCheck(listType: string, parentSchema: AnySchemaObject): DataValidateFunction {
  const mapKeys = (parentSchema['x-kubernetes-list-map-keys'] ?? []) as string[];
  const check: DataValidateFunction = (data: unknown): boolean => {
    if ((listType !== 'set' && listType !== 'map') || !Array.isArray(data)) return true;
    const items: unknown[] = data;
    const seen = new Map<string, number>();
    for (const [index, item] of items.entries()) {
      const id =
        listType === 'set'
          ? canonical(item)
          : canonical(mapKeys.map((k) => (item as Record<string, unknown> | null)?.[k] ?? null));
      const first = seen.get(id);
      if (first !== undefined) {
        check.errors = [
          {
            keyword: 'x-kubernetes-list-type',
            message:
              listType === 'set'
                ? `items ${first} and ${index} are equal; a list of type set needs unique items`
                : `items ${first} and ${index} share the key (${mapKeys.join(', ')}); a list of type map needs unique keys`,
            params: { listType },
          },
        ];
        return false;
      }
      seen.set(id, index);
    }
    return true;
  };
  return check;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function describe(e: ErrorObject): string {
  const at = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') {
    return `${at}: unknown field '${String((e.params as { additionalProperty: string }).additionalProperty)}'`;
  }
  if (e.keyword === 'enum') {
    return `${at}: ${e.message} (${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')})`;
  }
  return `${at}: ${e.message ?? e.keyword}`;
}
