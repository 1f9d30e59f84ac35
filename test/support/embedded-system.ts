import { hostServices, type AnyServiceDefinition, type HostedSystem } from '@meshmart/kit';
import { InMemoryEventBus } from '@meshmart/kit/events';
import { runnableServices } from '../../scripts/system.ts';

export interface EmbeddedSystem {
  readonly system: HostedSystem;
  readonly bus: InMemoryEventBus;
  /** Each service's base URL, by name. */
  readonly urls: Readonly<Record<string, string>>;
}

/**
 * The embedded default of `make start` for tests: every runnable service in this process on a port the kernel
 * picks, in-memory stores and one in-process event bus. `env` adds settings (logs are silent and tracing off unless
 * it says otherwise).
 */
export async function startEmbeddedSystem(
  env: Readonly<Record<string, string>> = {},
): Promise<EmbeddedSystem> {
  const all: Record<string, string> = {
    LOG_LEVEL: 'silent',
    TRACING: 'off',
    PROCESS_METRICS: 'false',
    ...env,
  };
  const definitions: AnyServiceDefinition[] = [];
  for (const s of runnableServices()) {
    all[`${s.name.toUpperCase()}_PORT`] = '0';
    definitions.push(
      ((await import(`@meshmart/${s.name}`)) as { definition: AnyServiceDefinition }).definition,
    );
  }
  const bus = new InMemoryEventBus({ source: 'meshmart' });
  const system = await hostServices(definitions, { env: all, host: { bus } });
  const urls = Object.fromEntries(system.services.map((s) => [s.service, s.running.url]));
  return { system, bus, urls };
}
