/** One error type for every failure a service reports; rendered as RFC 9457 problem+json. */
export interface FieldProblem {
  /** JSON pointer-ish location, e.g. `body/quantity` or `query/limit`. */
  readonly field: string;
  readonly message: string;
}

export interface AppErrorOptions {
  readonly detail?: string;
  readonly cause?: unknown;
  readonly errors?: readonly FieldProblem[];
  /** Extra members added to the problem document (RFC 9457 extension members). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  /** Response headers to set, e.g. Retry-After. */
  readonly headers?: Readonly<Record<string, string>>;
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Marks AppErrors so `instanceof` holds across two loaded copies of the kit (ESM and tsx's CJS hook in tests). */
const APP_ERROR = Symbol.for('meshmart.kit.AppError');

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly [APP_ERROR] = true;

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== AppError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return (
      typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[APP_ERROR] === true
    );
  }
  readonly errors: readonly FieldProblem[] | undefined;
  readonly extensions: Readonly<Record<string, unknown>> | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  /**
   * @param status HTTP status of the answer
   * @param code stable, machine-readable code (`validation-failed`, `not-found`, ...); becomes the problem `type`
   * @param message human-readable summary; becomes `detail` unless options.detail is given
   */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.errors = options.errors;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }

  get title(): string {
    return TITLES[this.status] ?? (this.status >= 500 ? 'Server Error' : 'Client Error');
  }

  static badRequest(message: string, errors?: readonly FieldProblem[]): AppError {
    return new AppError(400, errors ? 'validation-failed' : 'bad-request', message, errors ? { errors } : {});
  }

  static notFound(message: string): AppError {
    return new AppError(404, 'not-found', message);
  }

  static conflict(message: string, extensions?: Record<string, unknown>): AppError {
    return new AppError(409, 'conflict', message, extensions ? { extensions } : {});
  }

  static unavailable(message: string, cause?: unknown): AppError {
    return new AppError(503, 'unavailable', message, { cause });
  }
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: readonly FieldProblem[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Problem type URIs are relative references: stable and resolvable against the service's docs. */
export function problemType(code: string): string {
  return `/problems/${code}`;
}

export function toProblem(err: AppError, instance?: string): ProblemDocument {
  const doc: ProblemDocument = {
    ...err.extensions,
    type: problemType(err.code),
    title: err.title,
    status: err.status,
    detail: err.message,
  };
  if (instance !== undefined) doc.instance = instance;
  if (err.errors) doc.errors = err.errors;
  return doc;
}
