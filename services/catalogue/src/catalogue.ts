/**
 * The one typed catalogue of MeshMart's services: the system's description, data and pure lookups only. The kit, the
 * services, the local runner, the cdk8s app and the mesh model all import it by name (`@meshmart/catalogue`), so
 * adding a service is one entry here, not an edit in every tool.
 */
export type Datastore = 'mongodb' | 'redis';

export interface ServiceEntry {
  readonly name: string;
  readonly description: string;
  /** Port the service listens on: in-process on one machine, and the container port in Kubernetes. */
  readonly port: number;
  /** Services this one calls synchronously over HTTP (the mesh allows exactly these edges). */
  readonly dependsOn: readonly ServiceName[];
  readonly datastores: readonly Datastore[];
  /** Event topics this service publishes (through its outbox). */
  readonly publishes: readonly Topic[];
  /** Event topics this service consumes (one consumer group per service). */
  readonly consumes: readonly Topic[];
  /** Reachable from outside the cluster (only the gateway). */
  readonly public: boolean;
  /**
   * In Kubernetes, /metrics on this container port (METRICS_PORT) instead of `port`: never behind the public
   * service's load balancer. Internal services keep it on `port`, which only their callers and the scraper reach.
   */
  readonly metricsPort?: number;
  /**
   * Internal admin routes (`/admin/...`, ADMIN_TOKEN as X-Admin-Token): this service serves some, or calls
   * another's (the gateway, for an admin's product change). Only these services are given the token.
   */
  readonly admin?: 'serves' | 'calls';
}

export const TOPICS = [
  'catalog.events',
  'inventory.events',
  'payments.events',
  'orders.events',
  'checkout.events',
  'gateway.user-actions',
] as const;
export type Topic = (typeof TOPICS)[number];

export const SERVICE_NAMES = [
  'gateway',
  'catalog',
  'cart',
  'inventory',
  'payments',
  'orders',
  'checkout',
  'audit',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

// `as const`: each entry keeps its literal `dependsOn`, so `dependenciesOf` is typed per service.
const entries = {
  gateway: {
    description:
      'Front door: /api/v1 routing, JWT auth, rate limiting, caching, validation; serves the web UI',
    port: 8080,
    dependsOn: ['catalog', 'cart', 'checkout', 'orders', 'audit'],
    datastores: ['redis'],
    publishes: ['gateway.user-actions'],
    consumes: [],
    public: true,
    metricsPort: 9080,
    admin: 'calls',
  },
  catalog: {
    description: 'Products: browse, search, paginate; cache-aside in Redis',
    port: 8081,
    dependsOn: [],
    datastores: ['mongodb', 'redis'],
    publishes: ['catalog.events'],
    consumes: [],
    public: false,
    admin: 'serves',
  },
  cart: {
    description: 'One cart per user, priced from the catalog',
    port: 8082,
    dependsOn: ['catalog'],
    datastores: ['redis'],
    publishes: [],
    consumes: [],
    public: false,
  },
  inventory: {
    description: 'Stock and reservations (reserve, commit, release); stock never negative',
    port: 8083,
    dependsOn: [],
    datastores: ['mongodb'],
    publishes: ['inventory.events'],
    consumes: [],
    public: false,
    admin: 'serves',
  },
  payments: {
    description: 'Authorize, capture, void, refund with idempotency keys; simulated provider',
    port: 8084,
    dependsOn: [],
    datastores: ['mongodb'],
    publishes: ['payments.events'],
    consumes: [],
    public: false,
  },
  orders: {
    description: 'Event-sourced orders with a CQRS read model and state as of any instant',
    port: 8085,
    dependsOn: [],
    datastores: ['mongodb'],
    publishes: ['orders.events'],
    consumes: ['orders.events'],
    public: false,
    admin: 'serves',
  },
  checkout: {
    description: 'Saga orchestrator: reserve, authorize, confirm; compensations; resumes after a crash',
    port: 8086,
    dependsOn: ['cart', 'inventory', 'payments', 'orders'],
    datastores: ['mongodb'],
    publishes: ['checkout.events'],
    consumes: [],
    public: false,
  },
  audit: {
    description: 'Append-only, hash-chained audit trail of every domain event and user action',
    port: 8087,
    dependsOn: [],
    datastores: ['mongodb'],
    publishes: [],
    consumes: [...TOPICS],
    public: false,
  },
} as const satisfies Readonly<Record<ServiceName, Omit<ServiceEntry, 'name'>>>;

export const catalogue: readonly ServiceEntry[] = Object.freeze(
  SERVICE_NAMES.map((name) => Object.freeze({ name, ...entries[name] })),
);

export function service(name: ServiceName): ServiceEntry {
  const entry = catalogue.find((s) => s.name === name);
  if (!entry) throw new Error(`catalogue: no service named '${name}'`);
  return entry;
}

/** The services `N` calls, as their literal names: `DependencyOf<'gateway'>` is the gateway's upstream. */
export type DependencyOf<N extends ServiceName> = (typeof entries)[N]['dependsOn'][number];

/** The services `name` calls synchronously (its catalogue `dependsOn`), typed as `DependencyOf<N>`. */
export function dependenciesOf<N extends ServiceName>(name: N): readonly DependencyOf<N>[] {
  return entries[name].dependsOn;
}

/** Services that publish a topic: the producers a consumer of that topic depends on. */
export function publishersOf(topic: Topic): readonly ServiceEntry[] {
  return catalogue.filter((s) => s.publishes.includes(topic));
}
