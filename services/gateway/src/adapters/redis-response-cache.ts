import type { Redis } from 'ioredis';
import type { CachedResponse, ResponseCache } from './response-cache.ts';

/**
 * Entries under `<prefix>cache:<generation>:<key>` with a TTL. The generation is kept here for `generationTtlMs` so a
 * lookup is one GET; a purge from this replica is seen at once, from another replica within that time.
 */
export class RedisResponseCache implements ResponseCache {
  private generation: { value: string; readAt: number } | undefined;
  private readonly generationTtlMs: number;

  constructor(private readonly props: { client: Redis; keyPrefix: string; generationTtlMs?: number }) {
    this.generationTtlMs = props.generationTtlMs ?? 1000;
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    const raw = await this.props.client.get(await this.key(key));
    if (raw === null) return undefined;
    const parsed = JSON.parse(raw) as Partial<CachedResponse>;
    if (
      typeof parsed.body !== 'string' ||
      typeof parsed.etag !== 'string' ||
      typeof parsed.status !== 'number'
    )
      return undefined;
    return { status: parsed.status, body: parsed.body, etag: parsed.etag };
  }

  async set(key: string, value: CachedResponse, ttlSeconds: number): Promise<void> {
    await this.props.client.set(await this.key(key), JSON.stringify(value), 'EX', ttlSeconds);
  }

  async purge(): Promise<void> {
    const value = await this.props.client.incr(this.generationKey());
    this.generation = { value: String(value), readAt: performance.now() };
  }

  private generationKey(): string {
    return `${this.props.keyPrefix}cache:generation`;
  }

  private async key(key: string): Promise<string> {
    // Monotonic: a wall-clock step must not keep a stale generation; `>=`: a TTL of 0 means always re-read.
    const now = performance.now();
    if (!this.generation || now - this.generation.readAt >= this.generationTtlMs) {
      const value = (await this.props.client.get(this.generationKey())) ?? '0';
      this.generation = { value, readAt: now };
    }
    return `${this.props.keyPrefix}cache:${this.generation.value}:${key}`;
  }
}
