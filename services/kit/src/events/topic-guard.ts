import type { EventBus } from './event-bus.ts';

/** The topics one service may use: its catalogue entry's `publishes` and `consumes`. */
export interface TopicAllowance {
  /** The service, named in the error. */
  readonly service: string;
  readonly publishes: readonly string[];
  readonly consumes: readonly string[];
}

const allowances = new WeakMap<EventBus, TopicAllowance>(); // what each bus topicGuard returned may publish

const CATALOGUE_FILE = 'services/catalogue/src/catalogue.ts';

/** A service published or subscribed to a topic its catalogue entry does not list. */
export class TopicNotInCatalogueError extends Error {
  override readonly name = 'TopicNotInCatalogueError';

  constructor(
    readonly service: string,
    readonly topic: string,
    readonly list: 'publishes' | 'consumes',
  ) {
    const verb = list === 'publishes' ? 'publish to' : 'subscribe to';
    super(
      `${service} may not ${verb} '${topic}': the topic is not in its catalogue entry's ${list}; ` +
        `add it to the catalogue entry's ${list} in ${CATALOGUE_FILE} (entries.${service}.${list})`,
    );
  }
}

/**
 * The bus as one service may use it: `publish` refuses a topic outside `publishes` and `subscribe` one outside
 * `consumes`, each with a TopicNotInCatalogueError naming the service, the topic and the fix. A service subscribes
 * while it is built, so a subscription outside its entry fails its start; its publishers declare their topics while
 * it is built too (`declarePublishes`, which OutboxRelay calls), so a publish topic outside its entry fails its start
 * as well, and `publish` refusing one is the last line. Dead letters and redrive pass through: they
 * are operations on a topic's dead-letter queue, and `close` closes the bus underneath.
 */
export function topicGuard(bus: EventBus, allowed: TopicAllowance): EventBus {
  const publishes = new Set(allowed.publishes);
  const consumes = new Set(allowed.consumes);
  const guarded: EventBus = {
    publish(topic, event) {
      if (!publishes.has(topic))
        return Promise.reject(new TopicNotInCatalogueError(allowed.service, topic, 'publishes'));
      return bus.publish(topic, event);
    },
    subscribe(options) {
      if (!consumes.has(options.topic))
        return Promise.reject(new TopicNotInCatalogueError(allowed.service, options.topic, 'consumes'));
      return bus.subscribe(options);
    },
    deadLetters: (topic, query) => bus.deadLetters(topic, query),
    redrive: (topic, options) => bus.redrive(topic, options),
    close: () => bus.close(),
  };
  allowances.set(guarded, allowed);
  return guarded;
}

/**
 * Declares, while a service is built, the topics a publisher of it (an outbox relay, the gateway's user actions) will
 * publish on `bus`: on a bus topicGuard limits, a topic outside the catalogue entry's `publishes` throws
 * TopicNotInCatalogueError now, failing the service's start instead of the first publish. A bus no catalogue entry
 * limits (a test's own) takes any topic.
 */
export function declarePublishes(bus: EventBus, topics: readonly string[]): void {
  const allowed = allowances.get(bus);
  if (!allowed) return;
  const missing = topics.find((topic) => !allowed.publishes.includes(topic));
  if (missing !== undefined) throw new TopicNotInCatalogueError(allowed.service, missing, 'publishes');
}
