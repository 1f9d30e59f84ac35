export * from './event-bus.ts';
export * from './in-memory-event-bus.ts';
export * from './redis-stream-event-bus.ts';
export * from './outbox.ts';
export * from './idempotent-consumer.ts';
