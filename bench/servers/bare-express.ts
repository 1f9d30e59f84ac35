// Tuned bare Express 5: the baseline the kit is measured against (same route, same JSON, no kit).
import express from 'express';

const items = new Map([['lamp-1', { id: 'lamp-1', name: 'Desk lamp', priceCents: 3900, category: 'home' }]]);
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: 102400 }));
app.get('/v1/items/:id', (req, res) => {
  const item = items.get(req.params.id);
  if (!item) {
    res.status(404).json({ status: 404 });
    return;
  }
  res.json(item);
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
server.keepAliveTimeout = 65000;
process.on('message', () => process.send?.({ cpu: process.cpuUsage() }));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
