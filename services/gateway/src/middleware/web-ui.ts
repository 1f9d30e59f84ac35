import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import express, { type RequestHandler } from 'express';

/** A file name with a content hash (app-3f9a1c2b.js, index.BQ8x_k2L.css): its content never changes. */
const HASHED = /[.-][A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Unhashed files (index.html, favicon) are revalidated every time, so a deploy is seen at once. */
const REVALIDATE = 'no-cache';
/** In any case: `/API/v1/x` is an unknown API path (a 404 problem), not a page of the app. */
const API = /^\/api(?:\/|$)/i;
/** The kit's operational paths: with METRICS_PORT, /metrics here is a 404 problem, never the app shell. */
const OPERATIONAL = /^\/(?:metrics|healthz)(?:\/|$)/i;

/**
 * The web UI's static files at `/`, and index.html for every other GET outside /api (client-side routes such as
 * /orders/o-1). /api stays the API's: an unknown API path is a 404 problem, never the SPA.
 */
export function webUi(root: string): RequestHandler {
  const files = express.static(root, {
    index: ['index.html'],
    fallthrough: true,
    redirect: false,
    setHeaders: (res, path) => {
      res.setHeader('Cache-Control', HASHED.test(path) && !path.endsWith('.html') ? IMMUTABLE : REVALIDATE);
    },
  });
  return (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || API.test(req.path) || OPERATIONAL.test(req.path)) {
      next();
      return;
    }
    files(req, res, (err?: unknown) => {
      if (err) {
        next(err);
        return;
      }
      // A missing file that looks like an asset is a real 404, not the app shell.
      if (/\.[a-z0-9]+$/i.test(req.path)) {
        next();
        return;
      }
      const send = (body: Buffer) => {
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.setHeader('Cache-Control', REVALIDATE);
        res.status(200).end(req.method === 'HEAD' ? undefined : body);
      };
      readFile(join(root, 'index.html')).then(send, next);
    });
  };
}
