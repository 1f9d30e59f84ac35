// undici's Pool and its `request`, each from its own module rather than from undici's index. The index loads every
// dispatcher, fetch, WebSocket, EventSource, the cache stores and the mock agents when it is imported: 1.1 MB of
// bundled code and about 7 MB resident in every process with an HTTP client, of which the kit uses one Pool per
// upstream and `request`. undici (pinned in the kit's package.json) has no "exports" map, so these paths resolve
// alike under Node, tsx and esbuild; test/services/kit/http/undici-pool.test.ts checks that they are the very objects
// the index exports, so an upgrade that moves them fails that test instead of the services.
import type { Dispatcher, Pool as UndiciPool } from 'undici';
import requestFrom from 'undici/lib/api/api-request.js';
import PoolClass from 'undici/lib/dispatcher/pool.js';

export type Pool = UndiciPool;
export const Pool: typeof UndiciPool = PoolClass;

/**
 * `pool.request(options)` as undici's index defines it: the index copies `request` onto every dispatcher's
 * prototype, and without the index it is called on the pool.
 */
export function poolRequest(
  pool: Pool,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return requestFrom.call(pool, options);
}
