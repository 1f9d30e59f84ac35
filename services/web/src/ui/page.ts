/// <reference lib="dom" />
import type { Route } from './routes.ts';

/** What a page gets: its route and query, a view to fill, and a signal that aborts when the user navigates away. */
export interface PageContext {
  readonly route: Route;
  readonly query: URLSearchParams;
  readonly view: HTMLElement;
  readonly signal: AbortSignal;
  navigate(path: string, options?: { replace?: boolean }): void;
  /** Sets the document title ("<title> · MeshMart"). */
  title(text: string): void;
}

/** Waits `ms` unless the page is left first (then rejects with the abort). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
