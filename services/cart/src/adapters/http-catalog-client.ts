import { AppError, type Logger, type Metrics } from '@meshmart/kit';
import { createHttpClient, type HttpClient, type UpstreamPolicy } from '@meshmart/kit/http';
import type { CatalogClient, CatalogLookupOptions, CatalogProduct } from './catalog-client.ts';

export interface HttpCatalogClientProps {
  /** CATALOG_URL */
  readonly baseUrl: string;
  /** @default 1000 */
  readonly timeoutMs?: number;
  /** Timeouts, retries, breaker and pool the deployment sets for catalog (`upstreamPolicyFromEnv`). */
  readonly policy?: UpstreamPolicy;
  readonly registry?: Metrics['registry'];
  readonly logger?: Logger;
}

/** GET /prices?ids= on the catalog service through the kit's client (deadline, retries, breaker). */
export class HttpCatalogClient implements CatalogClient {
  private readonly http: HttpClient;

  constructor(props: HttpCatalogClientProps) {
    this.http = createHttpClient({
      upstream: 'catalog',
      baseUrl: props.baseUrl,
      timeoutMs: props.timeoutMs ?? 1000,
      ...props.policy,
      ...(props.registry ? { registry: props.registry } : {}),
      ...(props.logger ? { logger: props.logger } : {}),
    });
  }

  async getProducts(
    ids: readonly string[],
    options: CatalogLookupOptions = {},
  ): Promise<ReadonlyMap<string, CatalogProduct>> {
    const found = new Map<string, CatalogProduct>();
    if (ids.length === 0) return found;
    let res;
    try {
      res = await this.http.get<unknown>('/prices', {
        query: { ids: [...new Set(ids)].join(',') },
        ...(options.context ? { context: options.context } : {}),
      });
    } catch (err) {
      throw unavailable('the catalog cannot be reached', err);
    }
    if (res.status !== 200) throw unavailable(`the catalog answered ${res.status}`);
    const items = (res.body as { items?: unknown } | undefined)?.items;
    if (!Array.isArray(items)) throw invalid('the catalog answered prices without items');
    for (const p of items as Partial<CatalogProduct>[]) {
      if (
        typeof p.id !== 'string' ||
        typeof p.name !== 'string' ||
        typeof p.image !== 'string' ||
        !Number.isSafeInteger(p.priceCents) ||
        (p.priceCents as number) < 0 ||
        p.currency !== 'USD'
      ) {
        throw invalid(`the catalog answered an invalid product ${String(p.id)}`);
      }
      found.set(p.id, {
        id: p.id,
        name: p.name,
        image: p.image,
        priceCents: p.priceCents as number,
        currency: p.currency,
      });
    }
    return found;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

function invalid(message: string): AppError {
  return new AppError(502, 'catalog-invalid-response', message);
}

function unavailable(message: string, cause?: unknown): AppError {
  return new AppError(503, 'catalog-unavailable', message, { cause, headers: { 'Retry-After': '1' } });
}
