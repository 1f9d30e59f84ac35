import type { Redis } from 'ioredis';
import { productKey, type CacheLookup, type ProductCache } from './product-cache.ts';

export interface RedisProductCacheProps {
  readonly client: Redis;
  readonly ttlSeconds: number;
  /** Every key starts with it, so tests and services never collide. @default 'catalog:' */
  readonly keyPrefix?: string;
  /** A cache call slower than this fails (and the read goes to the store). @default 250 */
  readonly timeoutMs?: number;
}

/**
 * Redis (ElastiCache) cache-aside. Layout: `<prefix>cache:gen` (a counter, no TTL, so volatile-* eviction keeps it)
 * and `<prefix>cache:<gen>:<key>` (JSON, with the TTL).
 */
export class RedisProductCache implements ProductCache {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(private readonly props: RedisProductCacheProps) {
    this.client = props.client;
    this.prefix = `${props.keyPrefix ?? 'catalog:'}cache:`;
    this.timeoutMs = props.timeoutMs ?? 250;
  }

  async lookup<T>(key: string): Promise<CacheLookup<T>> {
    const generation = (await this.bounded(this.client.get(this.genKey()))) ?? '0';
    const json = await this.bounded(this.client.get(this.entryKey(generation, key)));
    return json === null ? { generation } : { value: JSON.parse(json) as T, generation };
  }

  async store(key: string, generation: string, value: unknown): Promise<void> {
    await this.bounded(
      this.client.set(this.entryKey(generation, key), JSON.stringify(value), 'EX', this.props.ttlSeconds),
    );
  }

  async invalidate(productId: string): Promise<void> {
    const generation = (await this.bounded(this.client.get(this.genKey()))) ?? '0';
    await this.bounded(
      this.client
        .multi()
        .del(this.entryKey(generation, productKey(productId)))
        .incr(this.genKey())
        .exec(),
    );
  }

  private genKey(): string {
    return `${this.prefix}gen`;
  }

  private entryKey(generation: string, key: string): string {
    return `${this.prefix}${generation}:${key}`;
  }

  /** A cache is an optimisation: never wait on it longer than a store read would take. */
  private bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    promise.catch(() => undefined);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`redis cache call timed out after ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}
