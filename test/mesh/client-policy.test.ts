import { expect } from 'chai';
import { clientPolicyEnv } from '@meshmart/mesh/client-policy.ts';
import { trafficModel } from '@meshmart/mesh/model.ts';

describe('mesh/client-policy', () => {
  it('when cart calls catalog, then cart gets catalog timeouts, retries, breaker and pool as env vars', () => {
    const env = clientPolicyEnv(trafficModel(), 'cart');
    expect(env).to.deep.equal({
      UPSTREAM_CATALOG_ATTEMPT_TIMEOUT_MS: '300',
      UPSTREAM_CATALOG_BREAKER_FAILURE_THRESHOLD: '5',
      UPSTREAM_CATALOG_BREAKER_OPEN_MS: '30000',
      UPSTREAM_CATALOG_CONNECTIONS: '64',
      UPSTREAM_CATALOG_RETRIES: '2',
      UPSTREAM_CATALOG_TIMEOUT_MS: '1000',
      UPSTREAM_CATALOG_WRITE_ATTEMPT_TIMEOUT_MS: '5000',
      UPSTREAM_CATALOG_WRITE_RETRIES: '0',
      UPSTREAM_CATALOG_WRITE_TIMEOUT_MS: '5000',
    });
  });

  it('when a service calls nobody, then it gets no upstream env vars', () => {
    expect(clientPolicyEnv(trafficModel(), 'audit')).to.deep.equal({});
  });

  it('when checkout calls four upstreams, then each has its own prefix and keys are sorted', () => {
    const keys = Object.keys(clientPolicyEnv(trafficModel(), 'checkout'));
    expect(keys).to.have.length(4 * 9);
    expect(keys).to.deep.equal([...keys].sort());
    expect(keys.filter((k) => k.startsWith('UPSTREAM_PAYMENTS_'))).to.have.length(9);
  });

  it('when an upstream takes Idempotency-Keys (payments), then keyed writes get their own deadline and retries', () => {
    const env = clientPolicyEnv(trafficModel(), 'checkout');
    expect(env.UPSTREAM_PAYMENTS_WRITE_TIMEOUT_MS).to.equal('8000');
    expect(env.UPSTREAM_PAYMENTS_WRITE_ATTEMPT_TIMEOUT_MS).to.equal('2500');
    expect(env.UPSTREAM_PAYMENTS_WRITE_RETRIES).to.equal('2');
    expect(env.UPSTREAM_PAYMENTS_ATTEMPT_TIMEOUT_MS).to.equal('700');
  });

  it('when Envoy already retries, then the client makes one attempt', () => {
    expect(clientPolicyEnv(trafficModel(), 'cart', { meshRetries: true }).UPSTREAM_CATALOG_RETRIES).to.equal(
      '0',
    );
  });

  it('when the service is unknown, then it throws naming the known services', () => {
    expect(() => clientPolicyEnv(trafficModel(), 'shipping')).to.throw(
      /no service 'shipping'.*gateway, catalog/,
    );
  });

  it('when the profile is on Lattice (sigv4), then every upstream is signed for vpc-lattice-svcs in the region', () => {
    const env = clientPolicyEnv(trafficModel(), 'checkout', { sigv4: { region: 'eu-central-1' } });
    for (const upstream of ['ORDERS', 'INVENTORY', 'PAYMENTS', 'CART']) {
      expect(env[`UPSTREAM_${upstream}_SIGV4_SERVICE`]).to.equal('vpc-lattice-svcs');
      expect(env[`UPSTREAM_${upstream}_SIGV4_REGION`]).to.equal('eu-central-1');
    }
    expect(Object.keys(env)).to.deep.equal(Object.keys(env).sort());
    expect(
      Object.keys(clientPolicyEnv(trafficModel(), 'checkout')).some((k) => k.includes('SIGV4')),
    ).to.equal(false);
  });

  it('when the rendered env is read back by the kit, then the client gets the same signing policy', async () => {
    const { upstreamPolicyFromEnv } = await import('../../services/kit/src/http/upstream-policy.ts');
    const env = clientPolicyEnv(trafficModel(), 'cart', { sigv4: { region: 'eu-west-1' } });
    expect(upstreamPolicyFromEnv('catalog', env).sigv4).to.deep.equal({
      service: 'vpc-lattice-svcs',
      region: 'eu-west-1',
    });
  });
});
