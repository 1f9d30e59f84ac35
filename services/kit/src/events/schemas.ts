import '../formats.ts';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { PoisonMessageError, type EventEnvelope, type EventHandler, type NewEvent } from './event-bus.ts';

/** One versioned event type of a topic. */
export interface EventSchema<S extends TSchema = TSchema> {
  readonly topic: string;
  readonly type: string;
  readonly version: number;
  readonly schema: S;
  readonly description: string;
}

export function eventSchema<S extends TSchema>(
  topic: string,
  type: string,
  version: number,
  schema: S,
  description: string,
): EventSchema<S> {
  return { topic, type, version, schema, description };
}

/** The `data` type of an event schema. */
export type EventData<E> = E extends EventSchema<infer S> ? Static<S> : never;

/**
 * Every event type the system knows, per topic and version. Publishers check what they write; consumers get
 * `validated(handler)`, which dead-letters (with the reason) a message of an unknown type or version, or whose data
 * fails its schema, instead of retrying it or dropping it.
 */
export class EventSchemaRegistry {
  private readonly checks = new Map<string, { schema: EventSchema; check: TypeCheck<TSchema> }>();

  constructor(schemas: readonly EventSchema[]) {
    for (const schema of schemas) {
      const key = keyOf(schema.topic, schema.type, schema.version);
      if (this.checks.has(key)) throw new Error(`EventSchemaRegistry: ${key} is defined twice`);
      this.checks.set(key, { schema, check: TypeCompiler.Compile(schema.schema) });
    }
  }

  get schemas(): readonly EventSchema[] {
    return [...this.checks.values()].map((c) => c.schema);
  }

  /** The reason an event is not acceptable, or undefined when it is. */
  problem(topic: string, event: { type: string; version?: number; data: unknown }): string | undefined {
    const version = event.version ?? 1;
    const entry = this.checks.get(keyOf(topic, event.type, version));
    if (!entry) {
      const known = [...this.checks.values()]
        .filter((c) => c.schema.topic === topic && c.schema.type === event.type)
        .map((c) => `v${c.schema.version}`);
      return known.length > 0
        ? `unknown version ${version} of ${event.type} on ${topic} (known: ${known.join(', ')})`
        : `unknown event type ${event.type} on ${topic}`;
    }
    // The compiled check first: the error iterator interprets the schema, and is only worth it to explain a failure.
    if (entry.check.Check(event.data)) return undefined;
    const first = entry.check.Errors(event.data).First();
    return first
      ? `${event.type} v${version} failed validation: ${first.path || '/'} ${first.message}`
      : undefined;
  }

  /** For publishers: an invalid event is a bug in the publisher, so this throws a plain Error. */
  assertValid<T>(topic: string, event: NewEvent<T>): NewEvent<T> {
    const problem = this.problem(topic, event);
    if (problem) throw new Error(`refusing to publish: ${problem}`);
    return event;
  }

  /** Wraps a consumer: unknown or invalid messages are dead-lettered at once with the reason. */
  validated<T = unknown>(handler: EventHandler<T>): EventHandler<T> {
    return (event: EventEnvelope<T>, delivery) => {
      const problem = this.problem(event.topic, event);
      if (problem) throw new PoisonMessageError(problem);
      return handler(event, delivery);
    };
  }
}

function keyOf(topic: string, type: string, version: number): string {
  return `${topic}/${type}/v${version}`;
}
