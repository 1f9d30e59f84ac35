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

/** GET /products/:id on the catalog service through the kit's client (deadline, retries, breaker). */
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

  async getProduct(
    productId: string,
    options: CatalogLookupOptions = {},
  ): Promise<CatalogProduct | undefined> {
    let res;
    try {
      res = await this.http.get<unknown>(`/products/${encodeURIComponent(productId)}`, {
        ...(options.context ? { context: options.context } : {}),
      });
    } catch (err) {
      throw unavailable('the catalog cannot be reached', err);
    }
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw unavailable(`the catalog answered ${res.status}`);
    const p = res.body as Partial<CatalogProduct> | undefined;
    if (
      !p ||
      typeof p.name !== 'string' ||
      typeof p.image !== 'string' ||
      !Number.isSafeInteger(p.priceCents) ||
      (p.priceCents as number) < 0 ||
      p.currency !== 'USD'
    ) {
      throw new AppError(
        502,
        'catalog-invalid-response',
        `the catalog answered an invalid product ${productId}`,
      );
    }
    return {
      id: productId,
      name: p.name,
      image: p.image,
      priceCents: p.priceCents as number,
      currency: p.currency,
    };
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

function unavailable(message: string, cause?: unknown): AppError {
  return new AppError(503, 'catalog-unavailable', message, { cause, headers: { 'Retry-After': '1' } });
}
