import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { ApiRouter, AppError, Type } from '@meshmart/kit';
import { ImageFile } from './schemas.ts';

const CONTENT_TYPES: Readonly<Record<string, string>> = { '.svg': 'image/svg+xml' };
/** File names never change meaning (a new picture gets a new deploy), so browsers and CDNs keep them. */
export const IMAGE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** Serves the product pictures shipped in assets/images; the name is checked by pattern and by resolved path. */
export function imageRoutes(dir: string): ApiRouter {
  const root = resolve(dir) + sep;
  const loaded = new Map<string, Buffer>();
  return new ApiRouter('').route({
    method: 'get',
    path: '/images/:file',
    operationId: 'getImage',
    summary: 'Gets a product picture',
    tags: ['images'],
    params: Type.Object({ file: ImageFile }),
    responses: {
      200: {
        description: 'the picture (image/svg+xml)',
        headers: { 'Cache-Control': { description: IMAGE_CACHE_CONTROL } },
      },
      404: { description: 'no such picture' },
    },
    handler: async ({ params, res }) => {
      const path = resolve(join(root, params.file));
      if (!path.startsWith(root)) throw AppError.badRequest('the file name is not valid');
      const type = CONTENT_TYPES[path.slice(path.lastIndexOf('.'))];
      if (!type) throw AppError.notFound(`there is no image '${params.file}'`);
      let body = loaded.get(path);
      if (!body) {
        try {
          body = await readFile(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
            throw AppError.notFound(`there is no image '${params.file}'`);
          }
          throw err;
        }
        loaded.set(path, body);
      }
      res.writeHead(200, {
        'content-type': type,
        'content-length': body.length,
        'cache-control': IMAGE_CACHE_CONTROL,
        'x-content-type-options': 'nosniff',
        // An SVG opened directly must not run script or load anything.
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      });
      res.end(body);
    },
  });
}
