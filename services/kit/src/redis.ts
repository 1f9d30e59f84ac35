import type { CheckResult, HealthCheck } from './health.ts';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { AppError } from './errors.ts';
import type { Logger } from './logger.ts';
import { DeclaredMetrics } from './metrics.ts';
import { kitMetrics } from './metric-declarations.ts';

/** What a readiness check reports; the kit's health module runs these. */
export type HealthResult = CheckResult;
export type { HealthCheck };

export interface ConnectRedisOptions {
  readonly logger: Logger;
  /** Shown in `CLIENT LIST` (no spaces), e.g. the service name. */
  readonly name: string;
  /** @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Counts every command sent (`redis_commands_total{command}`), duplicates included; without it nothing is. */
  readonly registry?: Registry;
}

/**
 * Connects and waits for the first `ready`, failing fast with a 503 AppError so a misconfigured pod crash-loops
 * visibly. Afterwards it reconnects on its own; errors are logged (once per distinct message), never thrown.
 */
export async function connectRedis(url: string, options: ConnectRedisOptions): Promise<Redis> {
  const { logger } = options;
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: options.name,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    // Commands fail during an outage instead of queueing for ever, so requests degrade rather than hang.
    maxRetriesPerRequest: 3,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  if (options.registry) countCommands(client, options.registry);
  let lastError = '';
  client.on('error', (err: Error) => {
    if (err.message === lastError) return;
    lastError = err.message;
    logger.warn({ err, redis: redact(url) }, 'redis connection error');
  });
  client.on('ready', () => {
    if (lastError) logger.info({ redis: redact(url) }, 'redis connection restored');
    lastError = '';
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw AppError.unavailable(`redis: cannot connect to ${redact(url)}: ${message(err)}`, err);
  }
  logger.info({ redis: redact(url) }, 'redis connected');
  return client;
}

/**
 * Every command sent once connected, pipelined ones included (a pipeline sends each through `sendCommand`), by
 * command name; the connection's own handshake is not counted. Clients made with `duplicate()` (the event bus's
 * blocking reader) count into the same series.
 */
function countCommands(client: Redis, registry: Registry): void {
  const counter = DeclaredMetrics.of(registry).counter(kitMetrics.redisCommands);
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, ...rest) => {
    // Before `ready` a command is queued and passes here again when the queue is flushed: counted then, once.
    if (client.status === 'ready') counter.inc({ command: command.name.toLowerCase() });
    return send(command, ...rest);
  };
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (...args) => {
    const copy = duplicate(...args);
    countCommands(copy, registry);
    return copy;
  };
}

/** PING within `timeoutMs`. */
export async function redisCheck(client: Redis, timeoutMs = 1000): Promise<HealthResult> {
  try {
    await withTimeout(client.ping(), timeoutMs, 'redis PING');
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: `redis (${client.status}): ${message(err)}` };
  }
}

/** QUIT (lets replies in flight arrive), falling back to dropping the connection. */
export async function closeRedis(client: Redis, timeoutMs = 2000): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  const ended = once(client, 'end');
  ended.catch(() => undefined);
  try {
    await withTimeout(client.quit(), timeoutMs, 'redis QUIT');
    // QUIT resolves on the reply; the socket closes just after.
    await withTimeout(ended, timeoutMs, 'redis close');
  } catch {
    client.disconnect();
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparseable url)';
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
