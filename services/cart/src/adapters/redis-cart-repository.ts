import type { Stores } from '@meshmart/kit';
import type { CartLine } from '../domain/cart.ts';
import type { BoughtLine, CartRepository } from './cart-repository.ts';

type Redis = NonNullable<Stores['redis']>;

export interface RedisCartRepositoryProps {
  readonly client: Redis;
  readonly ttlSeconds: number;
  /** Prefix of every key, so tests and services sharing a server stay apart. @default 'cart:' */
  readonly keyPrefix?: string;
}

// The line-count check and the write are one script, so two new lines racing for the last slot cannot both get it.
const PUT_LINE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
`;

const REMOVE_LINE = `
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

// What an order bought leaves the cart in one script, once: the order's marker key (SET NX) makes a repeat a no-op.
const REMOVE_BOUGHT = `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local line = cjson.decode(raw)
    local left = line.quantity - tonumber(ARGV[i + 1])
    if left > 0 then
      line.quantity = left
      redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(line))
    else
      redis.call('HDEL', KEYS[1], ARGV[i])
    end
  end
end
return 1
`;

/** A Redis hash per user (`<prefix>carts:<userId>`), a field per product holding the line as JSON. */
export class RedisCartRepository implements CartRepository {
  private readonly client: Redis;
  private readonly prefix: string;

  constructor(private readonly props: RedisCartRepositoryProps) {
    this.client = props.client;
    this.prefix = `${props.keyPrefix ?? 'cart:'}carts:`;
  }

  async lines(userId: string): Promise<CartLine[]> {
    const fields = await this.client.hgetall(this.key(userId));
    return Object.values(fields).map((v) => JSON.parse(v) as CartLine);
  }

  async line(userId: string, productId: string): Promise<CartLine | undefined> {
    const v = await this.client.hget(this.key(userId), productId);
    return v === null ? undefined : (JSON.parse(v) as CartLine);
  }

  async putLine(userId: string, line: CartLine, maxLines: number): Promise<boolean> {
    const done = await this.client.eval(
      PUT_LINE,
      1,
      this.key(userId),
      line.productId,
      JSON.stringify(line),
      maxLines,
      this.props.ttlSeconds,
    );
    return done === 1;
  }

  async removeLine(userId: string, productId: string): Promise<void> {
    await this.client.eval(REMOVE_LINE, 1, this.key(userId), productId, this.props.ttlSeconds);
  }

  async clear(userId: string): Promise<void> {
    await this.client.del(this.key(userId));
  }

  async removeBought(userId: string, orderId: string, bought: readonly BoughtLine[]): Promise<boolean> {
    const done = await this.client.eval(
      REMOVE_BOUGHT,
      2,
      this.key(userId),
      `${this.prefix}bought:${orderId}`,
      // The marker outlives any retry of the call; the cart's own TTL is left as it is.
      Math.max(this.props.ttlSeconds, 86_400),
      ...bought.flatMap((b) => [b.productId, b.quantity]),
    );
    return done === 1;
  }

  async expiresIn(userId: string): Promise<number | undefined> {
    const ttl = await this.client.ttl(this.key(userId));
    return ttl > 0 ? ttl : undefined;
  }

  private key(userId: string): string {
    return this.prefix + userId;
  }
}
