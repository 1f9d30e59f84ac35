import type { CommandStartedEvent, Db, MongoClient } from 'mongodb';
import type { Registry } from 'prom-client';
import { AppError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { HealthResult } from './redis.ts';
import { DeclaredMetrics } from './metrics.ts';
import { kitMetrics } from './metric-declarations.ts';

export type { HealthCheck, HealthResult } from './redis.ts';

export interface ConnectMongoOptions {
  readonly logger: Logger;
  /** Shown in the server's logs and currentOp, e.g. the service name. */
  readonly appName: string;
  /** @default the database in the URL, else `test` */
  readonly dbName?: string;
  /** How long an operation waits for a usable server before failing. @default 5000 */
  readonly serverSelectionTimeoutMS?: number;
  /** Counts every command sent (`mongodb_commands_total{command,collection}`); without it nothing is counted. */
  readonly registry?: Registry;
}

export interface MongoConnection {
  readonly client: MongoClient;
  readonly db: Db;
}

/** Connects and fails fast with a 503 AppError when no server answers; the driver reconnects by itself later. */
export async function connectMongo(url: string, options: ConnectMongoOptions): Promise<MongoConnection> {
  // Loaded here, not at import: a service without MONGO_URL (cart, the gateway, make start) never loads the driver.
  // Node gives the CommonJS driver's named exports to import(); in an esbuild bundle the chunk has only `default`.
  const driver = (await import('mongodb')) as typeof import('mongodb') & {
    default?: typeof import('mongodb');
  };
  const MongoClient = driver.MongoClient ?? driver.default?.MongoClient;
  const client = new MongoClient(url, {
    appName: options.appName,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
    monitorCommands: options.registry !== undefined,
  });
  if (options.registry) countCommands(client, options.registry);
  try {
    await client.connect();
  } catch (err) {
    await client.close().catch(() => undefined);
    throw AppError.unavailable(`mongodb: cannot connect to ${redact(url)}: ${message(err)}`, err);
  }
  const db = client.db(options.dbName);
  options.logger.info({ mongodb: redact(url), db: db.databaseName }, 'mongodb connected');
  return { client, db };
}

/**
 * Every command the driver sends, by command and collection: the round trips a request or a saga costs, per collection
 * (the checkout benchmark divides them by checkouts). Heartbeats are not commands and are not counted.
 */
function countCommands(client: MongoClient, registry: Registry): void {
  const counter = DeclaredMetrics.of(registry).counter(kitMetrics.mongodbCommands);
  client.on('commandStarted', (event: CommandStartedEvent) => {
    const target: unknown = event.command[event.commandName];
    const collection =
      typeof target === 'string'
        ? target
        : typeof event.command.collection === 'string'
          ? event.command.collection // getMore
          : '';
    counter.inc({ command: event.commandName, collection });
  });
}

/** `ping` within `timeoutMs`. */
export async function mongoCheck(db: Db, timeoutMs = 1000): Promise<HealthResult> {
  let timer: NodeJS.Timeout | undefined;
  const ping = db.command({ ping: 1 });
  ping.catch(() => undefined);
  try {
    const reply = await Promise.race([
      ping,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`mongodb ping timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
    return reply.ok === 1
      ? { ok: true }
      : { ok: false, detail: `mongodb ping answered ${JSON.stringify(reply)}` };
  } catch (err) {
    return { ok: false, detail: `mongodb: ${message(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

export async function closeMongo(client: MongoClient): Promise<void> {
  await client.close();
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
