import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { ADMIN_TOKEN_HEADER, ApiRouter, AppError, DeclaredMetrics, Type, type Logger } from '@meshmart/kit';
import type { Registry } from 'prom-client';
import type { ResponseCache } from '../adapters/response-cache.ts';
import type { Upstreams } from '../adapters/upstreams.ts';
import { gatewayMetrics } from '../metrics.ts';
import { act, requireRole } from '../middleware/locals.ts';
import {
  BEARER,
  CategoriesSchema,
  ProductId,
  ProductPageSchema,
  ProductSchema,
  publicImage,
} from './schemas.ts';

export interface CatalogRoutesDeps {
  readonly upstreams: Upstreams;
  readonly cache: ResponseCache;
  /** How long the gateway's shared cache keeps a read. */
  readonly cacheTtlSeconds: number;
  /** `Cache-Control: public, max-age` for browsers and CDNs. */
  readonly maxAgeSeconds: number;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Catalog's ADMIN_TOKEN, sent with admin changes (the internal admin routes need a credential of their own). */
  readonly adminToken?: string | undefined;
}

const ImageFile = Type.String({ maxLength: 128, pattern: '^[a-z0-9][a-z0-9-]*\\.svg$' });

type Product = Record<string, unknown>;
const withImage = (p: Product): Product => ({ ...p, image: publicImage(p.image) });

/**
 * Public catalog reads, cached in the gateway (Redis or in memory) and by browsers: strong ETag over the bytes,
 * If-None-Match -> 304. An admin change made through the gateway purges the cache; other changes are seen within
 * the cache TTL (catalog keeps its own cache coherent, so the gateway's short TTL bounds the staleness).
 */
export function catalogRoutes(deps: CatalogRoutesDeps): ApiRouter {
  const { upstreams, cache } = deps;
  const lookups = DeclaredMetrics.of(deps.registry).counter(gatewayMetrics.cacheRequests);
  const publicCache = `public, max-age=${deps.maxAgeSeconds}`;

  /** Serves a cached read, or fetches, stores and serves it; answers 304 when the client's ETag still matches. */
  const cachedRead = async (
    req: Request,
    res: Response,
    key: string,
    fetch: () => Promise<unknown>,
  ): Promise<void> => {
    let entry;
    try {
      entry = deps.cacheTtlSeconds > 0 ? await cache.get(key) : undefined;
      lookups.inc({ result: entry ? 'hit' : 'miss' });
    } catch (err) {
      lookups.inc({ result: 'error' });
      deps.logger.warn({ err }, 'response cache lookup failed: reading through');
    }
    res.setHeader('X-Cache', entry ? 'HIT' : 'MISS');
    if (!entry) {
      const body = JSON.stringify(await fetch());
      entry = {
        status: 200,
        body,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      };
      if (deps.cacheTtlSeconds > 0) {
        await cache.set(key, entry, deps.cacheTtlSeconds).catch((err: unknown) => {
          deps.logger.warn({ err }, 'response cache store failed');
        });
      }
    }
    res.setHeader('Cache-Control', publicCache);
    res.setHeader('ETag', entry.etag);
    if (matches(req.headers['if-none-match'], entry.etag)) {
      res.status(304).end();
      return;
    }
    res.status(entry.status).type('application/json').send(entry.body);
  };

  return new ApiRouter('/api/v1')
    .route({
      method: 'get',
      path: '/products',
      operationId: 'listProducts',
      summary: 'Browses and searches the products (public, cached)',
      tags: ['catalog'],
      query: Type.Object(
        {
          q: Type.Optional(
            Type.String({ maxLength: 100, description: 'text searched in name, description, category' }),
          ),
          category: Type.Optional(Type.String({ maxLength: 64, description: 'category id' })),
          page: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        },
        { additionalProperties: false },
      ),
      responses: {
        200: {
          description: 'a page of products',
          schema: ProductPageSchema,
          headers: {
            ETag: { description: 'strong validator' },
            'Cache-Control': { description: 'public, max-age' },
          },
        },
        304: { description: 'not modified (If-None-Match matched)' },
      },
      handler: async ({ query, req, res, trace, requestId }) => {
        const q = { q: query.q ?? '', category: query.category ?? '', page: query.page, limit: query.limit };
        const key = `products?${new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)])).toString()}`;
        await cachedRead(req, res, key, async () => {
          const page = await upstreams.call<{ items: Product[] }>('catalog', 'GET', '/products', {
            query: {
              page: q.page,
              limit: q.limit,
              ...(q.q ? { q: q.q } : {}),
              ...(q.category ? { category: q.category } : {}),
            },
            trace,
            requestId,
          });
          return { ...page.body, items: page.body.items.map(withImage) };
        });
      },
    })
    .route({
      method: 'get',
      path: '/products/:id',
      operationId: 'getProduct',
      summary: 'One product (public, cached)',
      tags: ['catalog'],
      params: Type.Object({ id: ProductId }),
      responses: {
        200: { description: 'the product', schema: ProductSchema },
        304: { description: 'not modified' },
        404: { description: 'no such product' },
      },
      handler: async ({ params, req, res, trace, requestId }) => {
        await cachedRead(req, res, `product:${params.id}`, async () => {
          const p = await upstreams.call<Product>(
            'catalog',
            'GET',
            `/products/${encodeURIComponent(params.id)}`,
            {
              trace,
              requestId,
            },
          );
          return withImage(p.body);
        });
      },
    })
    .route({
      method: 'get',
      path: '/categories',
      operationId: 'listCategories',
      summary: 'The categories with their product counts (public, cached)',
      tags: ['catalog'],
      responses: {
        200: { description: 'every category', schema: CategoriesSchema },
        304: { description: 'not modified' },
      },
      handler: async ({ req, res, trace, requestId }) => {
        await cachedRead(req, res, 'categories', async () => {
          const c = await upstreams.call('catalog', 'GET', '/categories', { trace, requestId });
          return c.body;
        });
      },
    })
    .route({
      method: 'get',
      path: '/images/:file',
      operationId: 'getImage',
      summary: 'A product picture (SVG; immutable, cached by browsers for a year)',
      tags: ['catalog'],
      params: Type.Object({ file: ImageFile }),
      responses: {
        200: { description: 'the picture (image/svg+xml)' },
        404: { description: 'no such picture' },
      },
      handler: async ({ params, res, trace, requestId }) => {
        const img = await upstreams.call<string>('catalog', 'GET', `/images/${params.file}`, {
          headers: { accept: 'image/svg+xml' },
          trace,
          requestId,
        });
        const type = img.headers['content-type'];
        if (typeof type !== 'string' || !type.startsWith('image/') || typeof img.body !== 'string') {
          throw new AppError(502, 'upstream-error', 'catalog answered something that is not a picture');
        }
        res.setHeader('Content-Type', type);
        res.setHeader('Cache-Control', String(img.headers['cache-control'] ?? publicCache));
        // An SVG opened on its own must not run script.
        res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
        res.status(200).send(img.body);
      },
    })
    .route({
      method: 'put',
      path: '/admin/products/:id',
      operationId: 'updateProduct',
      summary: 'Changes a product (admin); purges the gateway cache so the change is seen at once',
      tags: ['admin'],
      security: BEARER,
      params: Type.Object({ id: ProductId }),
      body: Type.Object(
        {
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
          description: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
          priceCents: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
          category: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        },
        { additionalProperties: false, minProperties: 1 },
      ),
      responses: {
        200: { description: 'the product after the change', schema: ProductSchema },
        401: { description: 'no valid token' },
        403: { description: 'not an admin' },
        404: { description: 'no such product' },
        422: { description: 'unknown category' },
      },
      handler: async ({ params, body, res, trace, requestId }) => {
        const admin = requireRole(res, 'admin');
        act(res, 'product.update', `product/${params.id}`);
        const p = await upstreams.call<Product>(
          'catalog',
          'PUT',
          `/admin/products/${encodeURIComponent(params.id)}`,
          {
            body,
            // The gateway checked the user's admin role; catalog checks the gateway's own credential.
            headers: {
              'x-actor': admin.id,
              ...(deps.adminToken ? { [ADMIN_TOKEN_HEADER]: deps.adminToken } : {}),
            },
            trace,
            requestId,
          },
        );
        await cache.purge().catch((err: unknown) => deps.logger.warn({ err }, 'response cache purge failed'));
        return { body: withImage(p.body) };
      },
    });
}

/** RFC 9110 If-None-Match: a list of entity tags or `*`; weak comparison is what 304 uses. */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
