import { expect } from 'chai';
import request from 'supertest';
import { sample } from '../../support/exposition.ts';
import type { RequestHandler } from 'express';
import { ApiRouter, AppError, createServiceApp, Type } from '@meshmart/kit';
import { sampleApp } from '../../support/sample-app.ts';

const PROBLEM = /^application\/problem\+json/;

describe('service app (kit middleware, errors, validation)', () => {
  describe('when a request is valid', () => {
    it('then the handler answers and the request id is echoed', async () => {
      const { app } = sampleApp();
      const res = await request(app)
        .put('/v1/items/a-1')
        .set('Idempotency-Key', 'k1')
        .set('x-request-id', 'req-123')
        .send({ name: 'Lamp', quantity: 2 })
        .expect(200);
      expect(res.body).to.deep.equal({ id: 'a-1', name: 'Lamp', quantity: 2 });
      expect(res.headers['x-request-id']).to.equal('req-123');
      await request(app).get('/v1/items/a-1').expect(200, { id: 'a-1', name: 'Lamp', quantity: 2 });
    });

    it('then query strings are converted to their schema types with defaults applied', async () => {
      const { app, items } = sampleApp();
      for (let i = 0; i < 15; i++) items.set(`i${i}`, { id: `i${i}`, name: `n${i}`, quantity: 1 });
      const dflt = await request(app).get('/v1/items').expect(200);
      expect(dflt.body.limit).to.equal(10);
      expect(dflt.body.items).to.have.length(10);
      const three = await request(app).get('/v1/items?limit=3').expect(200);
      expect(three.body.items).to.have.length(3);
    });

    it('then an unsafe request id is replaced by a generated one', async () => {
      const { app } = sampleApp();
      const res = await request(app).get('/v1/items').set('x-request-id', 'bad id\twith spaces').expect(200);
      expect(res.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    });
  });

  describe('when the body is not valid JSON', () => {
    it('then the answer is 400 problem+json and nothing is stored', async () => {
      const { app, items } = sampleApp();
      const res = await request(app)
        .put('/v1/items/a-1')
        .set('Idempotency-Key', 'k')
        .set('content-type', 'application/json')
        .send('{"name": "Lamp", "quantity": ')
        .expect(400)
        .expect('content-type', PROBLEM);
      expect(res.body).to.include({ type: '/problems/invalid-json', status: 400, title: 'Bad Request' });
      expect(items.size).to.equal(0);
    });
  });

  describe('when the body is over the limit', () => {
    it('then the answer is 413 problem+json naming the limit', async () => {
      const { app, items } = sampleApp({ bodyLimitBytes: 1024 });
      const res = await request(app)
        .put('/v1/items/a-1')
        .set('Idempotency-Key', 'k')
        .send({ name: 'x'.repeat(5000), quantity: 1 })
        .expect(413)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/body-too-large');
      expect(res.body.detail).to.contain('1024');
      expect(items.size).to.equal(0);
    });
  });

  describe('when fields fail validation', () => {
    it('then the answer is 400 listing each field', async () => {
      const { app, items } = sampleApp();
      const res = await request(app)
        .put('/v1/items/BAD%20ID')
        .send({ name: '', quantity: -3, extra: true })
        .expect(400)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/validation-failed');
      const fields = (res.body.errors as { field: string }[]).map((e) => e.field);
      expect(fields).to.include.members([
        'path/id',
        'body/name',
        'body/quantity',
        'body/extra',
        'header/idempotency-key',
      ]);
      expect(items.size).to.equal(0);
    });

    it('then wrong types and huge numbers in the query are rejected', async () => {
      const { app } = sampleApp();
      const res = await request(app).get('/v1/items?limit=abc').expect(400);
      expect(res.body.errors[0].field).to.equal('query/limit');
      await request(app).get('/v1/items?limit=100000000000000000000').expect(400);
    });

    it('then a body of the wrong media type is 415', async () => {
      const { app } = sampleApp();
      const res = await request(app)
        .put('/v1/items/a')
        .set('Idempotency-Key', 'k')
        .set('content-type', 'text/plain')
        .send('name=Lamp')
        .expect(415)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/unsupported-media-type');
    });

    it('then a JSON body that is not an object is 400', async () => {
      const { app } = sampleApp();
      await request(app)
        .put('/v1/items/a')
        .set('Idempotency-Key', 'k')
        .set('content-type', 'application/json')
        .send('[1,2]')
        .expect(400)
        .expect('content-type', PROBLEM);
    });
  });

  describe('when the route is unknown', () => {
    it('then the answer is 404 problem+json with the path as instance', async () => {
      const { app } = sampleApp();
      const res = await request(app).get('/nope?x=1').expect(404).expect('content-type', PROBLEM);
      expect(res.body).to.include({ status: 404, type: '/problems/not-found', instance: '/nope' });
    });
  });

  describe('when a path differs from a route only in case, a trailing slash, a doubled or an encoded slash', () => {
    it('then no route matches it: 404 problem+json, and the handler never runs', async () => {
      const { app, items } = sampleApp();
      items.set('a-1', { id: 'a-1', name: 'Lamp', quantity: 1 });
      await request(app).get('/v1/items/a-1').expect(200);
      for (const path of [
        '/V1/items/a-1',
        '/v1/ITEMS/a-1',
        '/v1/items/a-1/',
        '/v1/items/',
        '//v1/items/a-1',
        '/v1//items/a-1',
        '/v1%2Fitems/a-1',
        '/v1/./items/a-1',
        '/v1/x/../items/a-1',
      ]) {
        const res = await request(app).get(path);
        expect(res.status, path).to.be.oneOf([400, 404]);
        expect(res.headers['content-type'], path).to.match(PROBLEM);
      }
      const put = await request(app)
        .put('/V1/items/b-1')
        .set('Idempotency-Key', 'k')
        .send({ name: 'x', quantity: 1 });
      expect(put.status).to.equal(404);
      expect(items.has('b-1')).to.equal(false);
    });
  });

  describe('when a path parameter is percent-encoded', () => {
    it('then the handler gets it decoded, a malformed escape is 400 problem+json, and HEAD answers as GET without a body', async () => {
      const { app, items } = sampleApp();
      items.set('a-1', { id: 'a-1', name: 'Lamp', quantity: 1 });
      const got = await request(app).get('/v1/items/a%2D1').expect(200);
      expect(got.body).to.deep.equal({ id: 'a-1', name: 'Lamp', quantity: 1 });
      const bad = await request(app).get('/v1/items/%E0%A4%A').expect(400).expect('content-type', PROBLEM);
      expect(bad.body).to.include({ status: 400 });
      const head = await request(app).head('/v1/items/a%2D1').expect(200);
      expect(head.headers['content-type']).to.equal(got.headers['content-type']);
      expect(head.text ?? '').to.equal('');
      await request(app).head('/v1/items/nope').expect(404);
    });
  });

  describe('when a route exists for the path but not for the method', () => {
    it('then the answer is 405 problem+json with an Allow header', async () => {
      const { app } = sampleApp();
      for (const method of ['TRACE', 'DELETE', 'POST', 'PATCH']) {
        const res = await request(app)[method.toLowerCase() as 'trace']('/v1/items/a-1');
        expect(res.status, method).to.equal(405);
        expect(res.headers['content-type'], method).to.match(PROBLEM);
        expect(res.headers.allow, method).to.equal('GET, HEAD, PUT');
        expect(res.body.type).to.equal('/problems/method-not-allowed');
      }
      await request(app).post('/v1/nothing').expect(404);
    });
  });

  describe('when an internal admin route is called', () => {
    const TOKEN = 'a'.repeat(40);
    const adminApp = (adminToken?: string) => {
      const kit = sampleApp();
      const changed: string[] = [];
      const admin = new ApiRouter('').route({
        method: 'put',
        path: '/admin/things/:id',
        operationId: 'changeThing',
        summary: 'An admin change',
        params: Type.Object({ id: Type.String() }),
        responses: { 204: { description: 'changed' } },
        handler: ({ params }) => {
          changed.push(params.id);
          return { status: 204 };
        },
      });
      const app = createServiceApp({ ...kit, service: 'sample', routers: [admin], adminToken });
      return { app, changed };
    };

    it('then without the admin token, or with a wrong one, it is 401 problem+json and nothing changes', async () => {
      const { app, changed } = adminApp(TOKEN);
      for (const token of [undefined, 'b'.repeat(40), `${TOKEN}x`, TOKEN.slice(1)]) {
        const req = request(app).put('/admin/things/t1');
        if (token !== undefined) req.set('x-admin-token', token);
        const res = await req;
        expect(res.status, String(token)).to.equal(401);
        expect(res.headers['content-type']).to.match(PROBLEM);
        expect(res.body.type).to.equal('/problems/admin-token-required');
      }
      // Not Authorization: SigV4 signs Lattice calls with that header.
      await request(app).put('/admin/things/t1').set('authorization', `Bearer ${TOKEN}`).expect(401);
      expect(changed).to.deep.equal([]);
      await request(app).put('/admin/things/t1').set('x-admin-token', TOKEN).expect(204);
      expect(changed).to.deep.equal(['t1']);
    });

    it('then a service without an admin token refuses every admin call with 403 admin-disabled', async () => {
      const { app, changed } = adminApp(undefined);
      const res = await request(app).put('/admin/things/t1').set('x-admin-token', TOKEN).expect(403);
      expect(res.body.type).to.equal('/problems/admin-disabled');
      expect(changed).to.deep.equal([]);
    });
  });

  describe('when a handler throws an unexpected error', () => {
    it('then the client gets a bare 500 and the stack is logged once', async () => {
      const { app, logs } = sampleApp();
      const res = await request(app).get('/v1/boom').expect(500).expect('content-type', PROBLEM);
      expect(res.body).to.deep.equal({
        type: '/problems/internal',
        title: 'Internal Server Error',
        status: 500,
        detail: 'an unexpected error occurred',
        instance: '/v1/boom',
      });
      expect(JSON.stringify(res.body)).not.to.contain('secret');
      const unhandled = logs.lines.filter((l) => l.msg === 'unhandled error');
      expect(unhandled).to.have.length(1);
      expect(JSON.stringify(unhandled[0])).to.contain('secret internal detail');
    });
  });

  describe("when the service's middleware fails, throws or ends the request", () => {
    // The service app runs its middleware and routes as one pipeline, not as layers of Express's router: these are
    // the router's rules it must keep.
    const middlewareApp = () => {
      const kit = sampleApp();
      const seen: string[] = [];
      const middleware: RequestHandler[] = [
        (req, _res, next) => {
          seen.push(`first ${req.path}`);
          if (req.path === '/v1/items/thrown')
            throw new AppError(409, 'thrown-conflict', 'thrown by middleware');
          if (req.path === '/v1/items/passed')
            return void next(new AppError(429, 'passed-on', 'given to next'));
          next();
        },
        (req, res, next) => {
          seen.push(`second ${req.path}`);
          // A middleware that returns a promise which rejects, as an async one that throws does.
          if (req.path === '/v1/items/rejected')
            return Promise.reject(new Error('rejected middleware secret'));
          if (req.path === '/v1/items/answered') res.status(202).json({ answered: true });
          else next();
          return undefined;
        },
      ];
      const app = createServiceApp({ ...kit, service: 'sample', routers: [], middleware });
      return { app, seen, logs: kit.logs };
    };

    it('then a throw, a rejected promise and next(err) each get one problem+json answer, and nothing after them runs', async () => {
      const { app, seen, logs } = middlewareApp();
      const thrown = await request(app).get('/v1/items/thrown').expect(409).expect('content-type', PROBLEM);
      expect(thrown.body).to.include({ type: '/problems/thrown-conflict', instance: '/v1/items/thrown' });
      const passed = await request(app).get('/v1/items/passed').expect(429).expect('content-type', PROBLEM);
      expect(passed.body.type).to.equal('/problems/passed-on');
      const rejected = await request(app)
        .get('/v1/items/rejected')
        .expect(500)
        .expect('content-type', PROBLEM);
      expect(rejected.body.type).to.equal('/problems/internal');
      expect(JSON.stringify(rejected.body)).not.to.contain('secret');
      expect(logs.lines.filter((l) => l.msg === 'unhandled error')).to.have.length(1);
      await request(app).get('/v1/items/answered').expect(202, { answered: true });
      // No route for the rest: the not-found answer comes after both middleware ran.
      await request(app).get('/v1/items/other').expect(404).expect('content-type', PROBLEM);
      expect(seen).to.deep.equal([
        'first /v1/items/thrown',
        'first /v1/items/passed',
        'first /v1/items/rejected',
        'second /v1/items/rejected',
        'first /v1/items/answered',
        'second /v1/items/answered',
        'first /v1/items/other',
        'second /v1/items/other',
      ]);
    });

    it('then adding a layer to the app after it was made is refused, rather than never run', () => {
      const { app } = middlewareApp();
      expect(() => app.use((_req, _res, next) => next())).to.throw(
        /give routers and middleware to createServiceApp/,
      );
    });
  });

  describe('when a route answers with JSON', () => {
    it('then it is sent as UTF-8 JSON with its length in bytes, and a conditional GET still gets 304 from its ETag', async () => {
      const kit = sampleApp();
      const api = new ApiRouter('/v1').route({
        method: 'get',
        path: '/tagged/:id',
        operationId: 'getTagged',
        summary: 'A JSON answer, with an ETag for one id',
        params: Type.Object({ id: Type.String() }),
        responses: { 200: { description: 'the thing' } },
        handler: ({ params }) => ({
          body: { name: 'crème brûlée', id: params.id },
          ...(params.id === 'tagged' ? { headers: { ETag: '"v1"' } } : {}),
        }),
      });
      const app = createServiceApp({ ...kit, service: 'sample', routers: [api] });
      const plain = await request(app).get('/v1/tagged/plain').expect(200);
      expect(plain.headers['content-type']).to.equal('application/json; charset=utf-8');
      const text = JSON.stringify({ name: 'crème brûlée', id: 'plain' });
      expect(plain.text).to.equal(text);
      expect(Number(plain.headers['content-length']))
        .to.equal(Buffer.byteLength(text))
        .and.above(text.length);
      const tagged = await request(app).get('/v1/tagged/tagged').expect(200);
      expect(tagged.headers.etag).to.equal('"v1"');
      await request(app).get('/v1/tagged/tagged').set('If-None-Match', '"v1"').expect(304);
      await request(app).get('/v1/tagged/tagged').set('If-None-Match', '"v0"').expect(200);
    });
  });

  describe('when requests are served', () => {
    it('then RED metrics are recorded per route template and status class, excluding health and metrics', async () => {
      const { app, metrics } = sampleApp();
      await request(app).get('/v1/items/x1').expect(404);
      await request(app).get('/v1/items/x2').expect(404);
      await request(app).get('/v1/items').expect(200);
      await request(app).get('/healthz/live').expect(200);
      await request(app).get('/nowhere').expect(404);
      const text = await metrics.registry.metrics();
      const count = (labels: Record<string, string>) =>
        sample(text, 'http_request_duration_seconds_count', labels);
      expect(
        count({ service: 'sample', method: 'GET', route: '/v1/items/:id', status_class: '4xx' }),
      ).to.equal(2);
      expect(count({ service: 'sample', method: 'GET', route: '/v1/items', status_class: '2xx' })).to.equal(
        1,
      );
      expect(count({ route: 'unmatched', status_class: '4xx' })).to.equal(1);
      expect(
        sample(text, 'http_request_duration_seconds_bucket', { route: '/v1/items', le: '+Inf' }),
      ).to.equal(1);
      expect(text).not.to.contain('healthz');
      const res = await request(app).get('/metrics').expect(200);
      expect(res.headers['content-type']).to.contain('text/plain');
      expect(res.text).to.contain('http_request_duration_seconds_bucket');
    });

    it('then failed and slow requests are access-logged, fast successes and health checks are not', async () => {
      const { app, logs } = sampleApp();
      await request(app).get('/v1/items').expect(200);
      await request(app).get('/healthz/ready').expect(200);
      await request(app).get('/v1/items/zz').expect(404);
      await request(app).get('/v1/slow?ms=300').expect(200);
      const access = logs.lines.filter((l) => l.msg === 'request failed' || l.msg === 'slow request');
      expect(access.map((l) => [l.route, l.status, l.msg])).to.deep.equal([
        ['/v1/items/:id', 404, 'request failed'],
        ['/v1/slow', 200, 'slow request'],
      ]);
      for (const line of access) {
        expect(line).to.include.keys('time', 'level', 'service', 'request_id', 'duration_ms');
        // Tracing was not started: no made-up all-zero trace ids.
        expect(line).not.to.have.any.keys('trace_id', 'span_id');
        expect(line.service).to.equal('sample');
      }
    });
  });

  describe('when the OpenAPI document is requested', () => {
    it('then it is generated from the same schemas that validate requests', async () => {
      const { app } = sampleApp();
      const { body: doc } = await request(app).get('/openapi.json').expect(200);
      expect(doc.openapi).to.equal('3.1.0');
      const put = doc.paths['/v1/items/{id}'].put;
      expect(put.operationId).to.equal('putItem');
      expect(put.requestBody.content['application/json'].schema.properties.quantity).to.deep.equal({
        type: 'integer',
        minimum: 1,
        maximum: 99,
      });
      expect(put.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).to.deep.equal([
        'path:id',
        'header:Idempotency-Key',
      ]);
      expect(put.responses['400'].content['application/problem+json'].schema.$ref).to.equal(
        '#/components/schemas/Problem',
      );
      const list = doc.paths['/v1/items'].get;
      const limit = list.parameters.find((p: { name: string }) => p.name === 'limit');
      expect(limit.schema.default).to.equal(10);
      // A parameter with a default may be left out: the document must not call it required.
      expect(limit.required).to.equal(false);
      expect(JSON.stringify(doc)).not.to.contain('Symbol');
    });
  });
});
