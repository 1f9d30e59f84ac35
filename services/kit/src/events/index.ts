export {
  createEnvelope,
  envelopeTraceFields,
  isPoison,
  PoisonMessageError,
  type DeadLetter,
  type DeadLetterQuery,
  type Delivery,
  type EventBus,
  type EventEnvelope,
  type EventHandler,
  type NewEvent,
  type RedriveOptions,
  type SubscribeOptions,
  type Subscription,
  type TraceHeaders,
} from './event-bus.ts';
export { InMemoryEventBus, type InMemoryEventBusProps } from './in-memory-event-bus.ts';
export { RedisStreamEventBus, type RedisStreamEventBusProps } from './redis-stream-event-bus.ts';
export * from './outbox.ts';
export * from './idempotent-consumer.ts';
export * from './schemas.ts';
export {
  declarePublishes,
  topicGuard,
  TopicNotInCatalogueError,
  type TopicAllowance,
} from './topic-guard.ts';
