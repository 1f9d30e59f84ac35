import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';

/** The SPA loads its own scripts, styles and images only; inline styles are allowed for the /docs page. */
export const SPA_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Any case: `/API/...` is no route, but its 404 is still an API answer. */
const API = /^\/api(?:\/|$)/i;

/** JSON never needs to load anything or be framed. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * Security headers, the API version and the stage, set on the raw response before anything else runs, so every
 * answer carries them: the kit's health and metrics endpoints, body-parser errors and 404s included.
 */
export function setStaticHeaders(url: string, res: ServerResponse, stage: string): void {
  const api = API.test(url);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'strict-origin-when-cross-origin');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
  res.setHeader('Content-Security-Policy', api ? API_CSP : SPA_CSP);
  // Per-user by default, whatever the path; the catalog reads, the UI's files and /docs opt in to caching.
  res.setHeader('Cache-Control', 'private, no-store');
  if (api) {
    res.setHeader('X-API-Version', 'v1');
    res.setHeader('X-Stage', stage);
  }
}

/**
 * HSTS only when the request came over TLS (directly or through a proxy the gateway trusts): sent over plain HTTP it
 * would be ignored anyway, and on localhost it would pin the developer's browser to HTTPS.
 */
export function strictTransportSecurity(): RequestHandler {
  return (req, res, next) => {
    if (req.secure) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    next();
  };
}
