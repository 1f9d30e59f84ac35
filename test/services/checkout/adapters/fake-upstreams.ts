import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import { InMemoryParticipants } from '../../../../services/checkout/src/adapters/in-memory-participants.ts';
import {
  ParticipantError,
  type CallOptions,
} from '../../../../services/checkout/src/adapters/participants.ts';

export interface FakeUpstreams {
  readonly url: string;
  readonly sim: InMemoryParticipants;
  /** Headers of every request received, in order. */
  readonly seen: { method: string; path: string; headers: Record<string, unknown> }[];
  close(): Promise<void>;
}

/**
 * orders, inventory, payments and cart on one tiny express server on 127.0.0.1, speaking the brief's internal API
 * (paths, bodies, status codes, problem+json) over the simulation's state.
 */
export async function fakeUpstreams(): Promise<FakeUpstreams> {
  const sim = new InMemoryParticipants();
  const seen: FakeUpstreams['seen'] = [];
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    seen.push({ method: req.method, path: req.path, headers: { ...req.headers } });
    next();
  });
  const key = (req: Request): CallOptions => ({
    idempotencyKey: String(req.headers['idempotency-key'] ?? ''),
  });
  const answer =
    (status: number, run: (req: Request) => Promise<unknown>) =>
    (req: Request, res: Response): void => {
      run(req).then(
        (body) => (body === undefined ? res.status(204).end() : res.status(status).json(body)),
        (err: unknown) => problem(res, err),
      );
    };
  const id = (req: Request): string => String(req.params.id);
  const needsKey = (req: Request, res: Response, next: () => void): void => {
    if (req.headers['idempotency-key'] === undefined) {
      res.status(400).type('application/problem+json').json({
        type: '/problems/validation-failed',
        title: 'Bad Request',
        status: 400,
        detail: 'Idempotency-Key is required',
      });
      return;
    }
    next();
  };

  app.post(
    '/orders',
    answer(201, (req) => sim.orders.place(req.body, key(req))),
  );
  app.post(
    '/orders/:id/stock-reserved',
    answer(200, (req) => sim.orders.stockReserved({ orderId: id(req), ...req.body }, key(req))),
  );
  app.post(
    '/orders/:id/payment-authorized',
    answer(200, (req) => sim.orders.paymentAuthorized({ orderId: id(req), ...req.body }, key(req))),
  );
  app.post(
    '/orders/:id/confirm',
    answer(200, (req) => sim.orders.confirm({ orderId: id(req) }, key(req))),
  );
  app.post(
    '/orders/:id/cancel',
    answer(200, (req) => sim.orders.cancel({ orderId: id(req), ...req.body }, key(req))),
  );

  app.post(
    '/reservations',
    answer(201, (req) => sim.inventory.reserve(req.body, key(req))),
  );
  app.post(
    '/reservations/:id/commit',
    answer(200, (req) => sim.inventory.commit({ reservationId: id(req) }, key(req))),
  );
  app.post(
    '/reservations/:id/release',
    answer(200, (req) => sim.inventory.release({ reservationId: id(req) }, key(req))),
  );

  app.post(
    '/payments/authorizations',
    needsKey,
    answer(201, (req) => sim.payments.authorize(req.body, key(req))),
  );
  app.post(
    '/payments/:id/capture',
    needsKey,
    answer(200, (req) => sim.payments.capture({ paymentId: id(req) }, key(req))),
  );
  app.post(
    '/payments/:id/void',
    needsKey,
    answer(200, async (req) => {
      const payment = sim.paymentStore.get(id(req));
      if (payment?.status === 'VOIDED')
        throw ParticipantError.business('invalid-transition', 'already voided', 409);
      await sim.payments.voidAuthorization({ orderId: payment?.orderId ?? '', paymentId: id(req) }, key(req));
      return sim.paymentStore.get(id(req));
    }),
  );
  app.get(
    '/payments',
    answer(200, (req) =>
      Promise.resolve({
        items: sim.paymentsOf(typeof req.query.orderId === 'string' ? req.query.orderId : ''),
      }),
    ),
  );
  app.get(
    '/payments/:id',
    answer(200, (req) => {
      const payment = sim.paymentStore.get(id(req));
      if (!payment) throw ParticipantError.business('not-found', 'payment not found', 404);
      return Promise.resolve(payment);
    }),
  );

  app.get(
    '/carts/:id',
    answer(200, async (req) => {
      const cart = await sim.cart.get({ userId: id(req) }, key(req));
      return {
        ...cart,
        items: cart.items.map((i) => ({
          ...i,
          image: '/images/x.png',
          lineTotalCents: i.unitPriceCents * i.quantity,
        })),
        itemCount: cart.items.length,
      };
    }),
  );
  app.post(
    '/carts/:id/bought',
    answer(200, (req) => {
      const body = req.body as { orderId: string; items: { productId: string; quantity: number }[] };
      return sim.cart.removeBought({ userId: id(req), orderId: body.orderId, items: body.items }, key(req));
    }),
  );

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sim,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function problem(res: Response, err: unknown): void {
  const e = err instanceof ParticipantError ? err : ParticipantError.transient('internal', String(err), 500);
  const status = e.kind === 'transient' ? 503 : (e.status ?? 409);
  const code = e.kind === 'transient' ? 'provider-unavailable' : e.code;
  const details = { ...e.details };
  // The inventory service may describe short items as objects; the adapter must read either form.
  if (Array.isArray(details.products))
    details.products = details.products.map((productId: unknown) => ({
      productId,
      requested: 1,
      available: 0,
    }));
  res
    .status(status)
    .type('application/problem+json')
    .json({ type: `/problems/${code}`, title: 'Error', status, detail: e.message, ...details });
}
