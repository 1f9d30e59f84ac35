// Calls between services hosted in one process (`hostServices`, the embedded `make start`) without a socket. Each
// hosted service registers the request listener its server runs under its URL's origin; a client whose base URL has
// that origin hands each attempt to the listener directly: a Node IncomingMessage carrying the request and a
// ServerResponse that collects the answer, both on a socket that carries nothing. Express, the kit's front door,
// the route and the server's in-flight tracking run exactly as for a request that came over the network; what is
// skipped is the loopback socket, HTTP parsing on both sides and undici. A caller's abort reaches the handler as the
// connection closing ('close' on the response), as a client hanging up would.
import { IncomingMessage, ServerResponse, type IncomingHttpHeaders } from 'node:http';
import { Duplex } from 'node:stream';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import type { HttpHeaders } from './http-client.ts';

export type InProcessListener = (req: IncomingMessage, res: ServerResponse) => void;

// One registry per process, whichever copy of this module a caller loaded: under a loader that runs some files as
// CommonJS and some as ES modules (tsx), the server and the client can each load a copy of their own.
const REGISTRY = Symbol.for('meshmart.kit.in-process-listeners');
const listeners: Map<string, InProcessListener> = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??=
  new Map<string, InProcessListener>()) as Map<string, InProcessListener>;

/**
 * Serves calls to `origin` (`http://host:port`) made in this process by `listener` from now on. Returns the function
 * that stops it (a later call then goes over the network, as before): a server stops it as it starts draining, or
 * when it closes.
 */
export function registerInProcess(origin: string, listener: InProcessListener): () => void {
  const key = new URL(origin).origin;
  if (listeners.has(key)) throw new Error(`in-process calls to ${key} are already served`);
  listeners.set(key, listener);
  return () => {
    if (listeners.get(key) === listener) listeners.delete(key);
  };
}

/**
 * Where an in-process request carries its JSON body already parsed (the kit's service app uses it instead of reading
 * and parsing the stream again). Keyed like the registry, so both copies of this module agree.
 */
export const PARSED_JSON_BODY = Symbol.for('meshmart.kit.in-process-json-body');

/** The listener serving calls to `origin` in this process, if one does. */
export function inProcessListener(origin: string): InProcessListener | undefined {
  return listeners.size === 0 ? undefined : listeners.get(origin);
}

export interface InProcessRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  /** The caller's cancel: its reason is what the call rejects with. */
  readonly signal?: AbortSignal | undefined;
  /**
   * A deadline of the call's own, without an AbortController per call: after `ms` it rejects with `reason()` and the
   * handler sees its connection closed.
   */
  readonly timeout?: { readonly ms: number; readonly reason: () => Error };
  /** `host` of the request, as a client over the network would send it. */
  readonly host: string;
}

export interface InProcessAnswer {
  readonly statusCode: number;
  readonly headers: HttpHeaders;
  readonly text: string;
}

/**
 * The socket under an in-process request and response: local, unencrypted, and it carries nothing. A write is
 * acknowledged at once (the response's 'finish' follows, as after a flush); destroying it closes the response, as a
 * closed connection does.
 */
class NullSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly remoteFamily = 'IPv4';
  readonly localAddress = '127.0.0.1';
  readonly encrypted = false;
  override _read(): void {}
  override write(_chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(done as () => void);
    return true;
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
}

/**
 * A ServerResponse whose body is collected in memory and handed to `onAnswer` when the handler ends it. `write` and
 * `end` are the response's own properties, not a subclass's methods: Express replaces a response's prototype with its
 * own, which would drop a subclass's.
 */
function collectingResponse(
  req: IncomingMessage,
  onAnswer: (answer: InProcessAnswer) => void,
): ServerResponse {
  const res = new ServerResponse(req);
  const chunks: (string | Buffer)[] = [];
  let answered = false;
  const proto = ServerResponse.prototype;

  /** Keeps a chunk of the body; none for HEAD, 204 and 304, as on the wire. */
  const collect = (chunk: unknown, encoding: unknown): void => {
    if (chunk === undefined || chunk === null || !hasBody(res)) return;
    if (typeof chunk === 'string') {
      chunks.push(
        encoding === undefined || encoding === 'utf8' || encoding === 'utf-8'
          ? chunk
          : Buffer.from(chunk, encoding as BufferEncoding),
      );
    } else {
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
  };

  const answer = (): void => {
    if (answered) return;
    answered = true;
    const headers: Record<string, string | string[]> = {};
    const set = res.getHeaders();
    for (const name in set) {
      const value = set[name];
      if (value !== undefined) headers[name] = typeof value === 'number' ? String(value) : value;
    }
    const text = chunks.every((c) => typeof c === 'string')
      ? chunks.join('')
      : // Decoded as a whole: a character may be split between two chunks.
        Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).toString('utf8');
    // The connection's end, which the server's in-flight tracking and long waits (`Prefer: wait`) listen for.
    process.nextTick(() => res.destroy());
    onAnswer({ statusCode: res.statusCode, headers, text });
  };

  // Headers given to writeHead go into the header block only, not to getHeaders(): set them first, so they are kept.
  res.writeHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
    const headers = typeof rest[0] === 'string' ? rest[1] : rest[0];
    if (Array.isArray(headers)) {
      const flat = (Array.isArray(headers[0]) ? headers.flat() : headers) as string[];
      for (let i = 0; i + 1 < flat.length; i += 2) this.appendHeader(flat[i], flat[i + 1]);
    } else if (headers && typeof headers === 'object') {
      for (const [name, value] of Object.entries(headers as Record<string, string | string[] | number>))
        if (value !== undefined) this.setHeader(name, value);
    }
    return typeof rest[0] === 'string'
      ? (proto.writeHead as (this: ServerResponse, code: number, message: string) => ServerResponse).call(
          this,
          statusCode,
          rest[0],
        )
      : proto.writeHead.call(this, statusCode);
  } as ServerResponse['writeHead'];

  res.write = function (
    this: ServerResponse,
    chunk: unknown,
    encoding?: unknown,
    callback?: unknown,
  ): boolean {
    if (this.destroyed || this.writableEnded) return false;
    collect(chunk, typeof encoding === 'function' ? undefined : encoding);
    return proto.write.call(this, chunk, encoding as BufferEncoding, callback as () => void);
  } as ServerResponse['write'];

  res.end = function (this: ServerResponse, chunk?: unknown, encoding?: unknown, callback?: unknown) {
    if (typeof chunk === 'function') [chunk, callback] = [undefined, chunk];
    else if (typeof encoding === 'function') [encoding, callback] = [undefined, encoding];
    if (this.destroyed || this.writableEnded) return this;
    collect(chunk, encoding);
    if (this.headersSent) {
      // Headers written before (writeHead, or a body in parts): Node ends it as it would on a socket.
      proto.end.call(this, chunk, (encoding ?? 'utf8') as BufferEncoding, callback as () => void);
      answer();
      return this;
    }
    // Answered in one go: the caller takes the status and headers as they are (answer()), so they are not serialized
    // into a header block no one reads. The response ends as after a flush: headers sent, finished, then 'finish'.
    const outgoing = this as unknown as { _header: string; _headerSent: boolean };
    outgoing._header = IN_PROCESS_HEADER;
    outgoing._headerSent = true;
    this.finished = true;
    if (typeof callback === 'function') this.once('finish', callback as () => void);
    answer();
    this.emit('prefinish');
    queueMicrotask(() => this.emit('finish'));
    return this;
  } as ServerResponse['end'];

  return res;
}

/** What stands for the header block of a response answered in one go (Node takes a set one as "headers sent"). */
const IN_PROCESS_HEADER = 'in-process\r\n\r\n';

function hasBody(res: ServerResponse): boolean {
  return res.req.method !== 'HEAD' && res.statusCode !== 204 && res.statusCode !== 304;
}

/**
 * Hands one request to `listener` and resolves with its answer once the handler ends the response. Rejects with the
 * signal's reason when it aborts first, or with the timeout's reason when that comes first; the handler then sees its
 * response closed.
 */
export function sendInProcess(
  listener: InProcessListener,
  request: InProcessRequest,
): Promise<InProcessAnswer> {
  const { signal, timeout } = request;
  // The caller's abort reason goes back as is (the client tells its own timeout from a caller's cancel by it).
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  const socket = new NullSocket();
  const req = new IncomingMessage(socket as never);
  req.method = request.method;
  req.url = request.path;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  const headers: IncomingHttpHeaders = { host: request.host };
  const rawHeaders: string[] = ['host', request.host];
  for (const [name, value] of Object.entries(request.headers)) {
    if (name === 'host') {
      // A signed call names the host itself (SigV4 signs it).
      headers.host = rawHeaders[1] = value;
      continue;
    }
    headers[name] = value;
    rawHeaders.push(name, value);
  }
  if (request.body !== undefined) {
    const length = String(Buffer.byteLength(request.body));
    headers['content-length'] = length;
    rawHeaders.push('content-length', length);
    req.push(request.body);
    const parsed = parsedJson(headers['content-type'], request.body);
    if (parsed !== undefined) (req as unknown as Record<symbol, unknown>)[PARSED_JSON_BODY] = parsed;
  }
  req.headers = headers;
  req.rawHeaders = rawHeaders;
  req.push(null);
  req.complete = true;

  return new Promise<InProcessAnswer>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settled = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const res = collectingResponse(req, (answer) => {
      settled();
      resolve(answer);
    });
    res.assignSocket(socket as never);
    const stop = (reason: Error): void => {
      settled();
      reject(reason);
      // As when a client hangs up: the handler sees its response (and request) closed.
      res.destroy();
      req.destroy();
    };
    function onAbort(): void {
      stop(signal?.reason as Error);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeout) timer = setTimeout(() => stop(timeout.reason()), timeout.ms);
    try {
      // The handler starts from an empty context, as a request from the network does: its trace comes from the
      // headers, not from the caller's active span.
      context.with(ROOT_CONTEXT, () => listener(req, res));
    } catch (err) {
      settled();
      res.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

/**
 * The body parsed once here, when the JSON parser of the service app would take it as is: an object or an array, sent
 * as `application/json` (UTF-8). Anything else is left to that parser, whose answers (400, 415) stay as they are.
 */
function parsedJson(contentType: string | string[] | undefined, body: string): unknown {
  if (typeof contentType !== 'string') return undefined;
  const type = contentType.toLowerCase();
  if (type !== 'application/json' && type !== 'application/json; charset=utf-8') return undefined;
  const first = /\S/.exec(body)?.[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
