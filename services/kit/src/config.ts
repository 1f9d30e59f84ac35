/**
 * Typed configuration from the environment: parsed once, frozen, every problem listed at once.
 * A spec maps each field to its environment variable, its parser, its default and a line of documentation.
 */
export interface Setting<T> {
  readonly env: string;
  readonly doc: string;
  /** No default means required. Secrets never get one. */
  readonly default?: T;
  readonly parse: (raw: string) => T;
  readonly secret?: boolean;
  readonly optional?: boolean;
}

export type ConfigSpec = Readonly<Record<string, Setting<unknown>>>;

type ValueOf<S> = S extends Setting<infer T> ? (S extends { optional: true } ? T | undefined : T) : never;
export type ConfigOf<Spec extends ConfigSpec> = { readonly [K in keyof Spec]: ValueOf<Spec[K]> };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly service: string,
    readonly problems: readonly string[],
  ) {
    super(`${service}: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Common<T> = { readonly env: string; readonly doc: string; readonly default?: T };

export function str(options: Common<string> & { readonly pattern?: RegExp }): Setting<string> {
  return {
    ...options,
    parse: (raw) => {
      if (options.pattern && !options.pattern.test(raw))
        throw new Error(`must match ${String(options.pattern)}`);
      return raw;
    },
  };
}

type Range = { readonly min?: number; readonly max?: number };

function inRange(n: number, range: Range): number {
  if (range.min !== undefined && n < range.min) throw new Error(`must be >= ${range.min}, got ${n}`);
  if (range.max !== undefined && n > range.max) throw new Error(`must be <= ${range.max}, got ${n}`);
  return n;
}

export function int(options: Common<number> & Range): Setting<number> {
  return {
    ...options,
    parse: (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer, got '${raw}'`);
      return inRange(Number(raw), options);
    },
  };
}

export function port(options: Common<number>): Setting<number> {
  return int({ ...options, min: 0, max: 65535 });
}

export function num(options: Common<number> & Range): Setting<number> {
  return {
    ...options,
    parse: (raw) => {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`must be a number, got '${raw}'`);
      return inRange(n, options);
    },
  };
}

export function bool(options: Common<boolean>): Setting<boolean> {
  return {
    ...options,
    parse: (raw) => {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new Error(`must be true or false, got '${raw}'`);
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[], options: Common<NoInfer<T>>): Setting<T> {
  return {
    ...options,
    parse: (raw) => {
      if (!(values as readonly string[]).includes(raw))
        throw new Error(`must be one of ${values.join(', ')}, got '${raw}'`);
      return raw as T;
    },
  };
}

export function url(options: Common<string> & { readonly protocols?: readonly string[] }): Setting<string> {
  return {
    ...options,
    parse: (raw) => {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new Error(`must be a URL, got '${raw}'`);
      }
      if (options.protocols && !options.protocols.includes(parsed.protocol.replace(/:$/, ''))) {
        throw new Error(`must use ${options.protocols.join(' or ')}, got '${parsed.protocol}'`);
      }
      return raw;
    },
  };
}

/** A secret: required, never defaulted, never printed. */
export function secret(options: {
  readonly env: string;
  readonly doc: string;
  readonly minLength?: number;
}): Setting<string> {
  return {
    env: options.env,
    doc: options.doc,
    secret: true,
    parse: (raw) => {
      if (raw.length < (options.minLength ?? 1))
        throw new Error(`must be at least ${options.minLength ?? 1} characters`);
      return raw;
    },
  };
}

/** Marks a setting as optional: absent means undefined rather than a problem. */
export function optional<T>(setting: Setting<T>): Setting<T> & { readonly optional: true } {
  return { ...setting, optional: true };
}

export function loadConfig<Spec extends ConfigSpec>(
  service: string,
  spec: Spec,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConfigOf<Spec> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(spec)) {
    const raw = env[setting.env];
    if (raw === undefined || raw === '') {
      if (setting.default !== undefined) out[key] = setting.default;
      else if (setting.optional) out[key] = undefined;
      else problems.push(`${setting.env} is required: ${setting.doc}`);
      continue;
    }
    try {
      out[key] = setting.parse(raw);
    } catch (err) {
      // Secret parsers never quote the value, so a message can always be shown.
      problems.push(`${setting.env} ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(service, problems);
  return Object.freeze(out) as ConfigOf<Spec>;
}

/** One line per setting, for README tables and `--help`. */
export function describeConfig(spec: ConfigSpec): string[] {
  return Object.values(spec).map((s) => {
    const dflt = s.secret
      ? 'required, secret'
      : s.default !== undefined
        ? `default ${JSON.stringify(s.default)}`
        : s.optional
          ? 'optional'
          : 'required';
    return `${s.env} (${dflt}): ${s.doc}`;
  });
}
