// The same route built with the full kit: metrics, tracing at its default sampling exporting to a local OTLP sink,
// JSON logging, schema validation, problem+json errors — started the way runService starts every service.
import { ApiRouter, AppError, Type, runService } from '@meshmart/kit';

const Item = Type.Object({
  id: Type.String(),
  name: Type.String(),
  priceCents: Type.Integer(),
  category: Type.String(),
});
const items = new Map([['lamp-1', { id: 'lamp-1', name: 'Desk lamp', priceCents: 3900, category: 'home' }]]);

const running = await runService({
  service: 'bench',
  defaultPort: 0,
  settings: {},
  build: async (kit) => {
    const { createServiceApp } = await import('@meshmart/kit');
    const api = new ApiRouter('/v1').route({
      method: 'get',
      path: '/items/:id',
      operationId: 'getItem',
      summary: 'One item',
      params: Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]{1,64}$' }) }),
      responses: { 200: { description: 'the item', schema: Item } },
      handler: ({ params }) => {
        const item = items.get(params.id);
        if (!item) throw AppError.notFound(`no item ${params.id}`);
        return { body: item };
      },
    });
    return {
      app: createServiceApp({
        ...kit,
        service: 'bench',
        routers: [api],
        openapi: { title: 'bench', version: '1' },
      }),
    };
  },
});
process.send?.({ port: running.port });
// The bench asks for CPU time around each run: CPU per request holds steady even on a busy machine.
process.on('message', () => process.send?.({ cpu: process.cpuUsage() }));
