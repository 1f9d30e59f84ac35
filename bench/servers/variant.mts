import express from 'express';
import { ApiRouter, Type, createServiceApp, createLogger, Metrics, Health, startTracing, serve } from '@meshmart/kit';
const v = process.env.V!;
const item = { id: 'lamp-1', name: 'Desk lamp', priceCents: 3900, category: 'home' };
const logger = createLogger({ service: 'v' });
if (v.includes('trace')) startTracing({ service: 'v', mode: 'w3c', sampleRatio: v.includes('r0') ? 0 : v.includes('r1') ? 1 : 0.1, endpoint: 'http://127.0.0.1:4318/v1/traces' });
if (v.includes('ctx')) startTracing({ service: 'v', mode: 'w3c', sampleRatio: 0.1 });
if (v.includes('noctx')) { const { context } = await import('@opentelemetry/api'); context.disable(); }
const metrics = new Metrics({ service: 'v', processMetrics: v.includes('proc') });
const health = new Health();
let app: express.Express;
if (v.startsWith('bare')) {
  app = express(); app.disable('x-powered-by'); app.set('etag', false); app.use(express.json());

  app.get('/v1/items/:id', (req, res) => { res.json(item); });
} else {
  const api = new ApiRouter('/v1').route({ method: 'get', path: '/items/:id', operationId: 'g', summary: 'g',
    params: Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]{1,64}$' }) }), responses: { 200: { description: 'x' } },
    handler: () => ({ body: item }) });
  app = createServiceApp({ service: 'v', logger, metrics, health, routers: [api] });
}
const r = await serve({ app, port: 18700, host: '127.0.0.1', logger, health });
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const session = v.includes('prof') ? new Session() : undefined;
let n = 0;
if (session) { session.connect(); await session.post('Profiler.enable'); }
process.on('message', async () => {
  n++;
  if (session && n === 1) await session.post('Profiler.start');
  if (session && n === 2) { const { profile } = await session.post('Profiler.stop'); writeFileSync(`/tmp/prof/${v}.cpuprofile`, JSON.stringify(profile)); }
  process.send?.({ cpu: process.cpuUsage() });
});
process.send?.({ port: r.port });
