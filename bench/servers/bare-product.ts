// Tuned bare Express 5 answering GET /products/:id with the exact body catalog answers (PRODUCT_JSON): the baseline
// a product read in the running system is measured against.
import express from 'express';

const body = JSON.parse(process.env.PRODUCT_JSON ?? '{}') as { id?: string };
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: 102400 }));
app.get('/products/:id', (req, res) => {
  if (req.params.id !== body.id) {
    res.status(404).json({ status: 404 });
    return;
  }
  res.json(body);
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
server.keepAliveTimeout = 65000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
