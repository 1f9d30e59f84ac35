import { expect } from 'chai';
import { ConfigError } from '@meshmart/kit';
import { upstreamPolicyFromEnv } from '@meshmart/kit/http';
import { clientPolicyEnv } from '@meshmart/mesh/client-policy.ts';
import { trafficModel } from '@meshmart/mesh/model.ts';

describe('upstreamPolicyFromEnv', () => {
  it('when no UPSTREAM_ variables are set, then the service keeps its own defaults (empty policy)', () => {
    expect(upstreamPolicyFromEnv('catalog', {})).to.deep.equal({});
  });

  it('when the variables are set, then they become client options, the breaker included', () => {
    const policy = upstreamPolicyFromEnv('catalog', {
      UPSTREAM_CATALOG_TIMEOUT_MS: '900',
      UPSTREAM_CATALOG_ATTEMPT_TIMEOUT_MS: '300',
      UPSTREAM_CATALOG_RETRIES: '2',
      UPSTREAM_CATALOG_BREAKER_FAILURE_THRESHOLD: '5',
      UPSTREAM_CATALOG_BREAKER_OPEN_MS: '10000',
      UPSTREAM_CATALOG_CONNECTIONS: '64',
      UPSTREAM_CART_TIMEOUT_MS: '1',
    });
    expect(policy).to.deep.equal({
      timeoutMs: 900,
      attemptTimeoutMs: 300,
      retries: 2,
      breaker: { failureThreshold: 5, openMs: 10000 },
      connections: 64,
    });
  });

  it('when values are malformed, then every problem is listed in one ConfigError', () => {
    let error: unknown;
    try {
      upstreamPolicyFromEnv('orders', { UPSTREAM_ORDERS_TIMEOUT_MS: 'soon', UPSTREAM_ORDERS_RETRIES: '-1' });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems).to.have.length(2);
    expect((error as ConfigError).problems[0]).to.match(/UPSTREAM_ORDERS_TIMEOUT_MS: must be an integer/);
  });

  it('when the traffic model renders a caller’s env, then the kit reads back each upstream’s timeouts and retries', () => {
    const model = trafficModel();
    const env = clientPolicyEnv(model, 'checkout');
    for (const upstream of ['orders', 'inventory', 'payments', 'cart']) {
      const policy = upstreamPolicyFromEnv(upstream, env);
      expect(policy.timeoutMs, upstream).to.equal(
        Number(env[`UPSTREAM_${upstream.toUpperCase()}_TIMEOUT_MS`]),
      );
      expect(policy.retries, upstream).to.be.a('number');
      expect(policy.breaker?.failureThreshold, upstream).to.be.greaterThan(0);
    }
  });

  it('when SIGV4_SERVICE and SIGV4_REGION are set, then the client signs for that service and region', () => {
    expect(
      upstreamPolicyFromEnv('catalog', {
        UPSTREAM_CATALOG_SIGV4_SERVICE: 'vpc-lattice-svcs',
        UPSTREAM_CATALOG_SIGV4_REGION: 'eu-west-1',
      }).sigv4,
    ).to.deep.equal({ service: 'vpc-lattice-svcs', region: 'eu-west-1' });
    expect(
      upstreamPolicyFromEnv('catalog', {
        UPSTREAM_CATALOG_SIGV4_SERVICE: 'vpc-lattice-svcs',
        AWS_REGION: 'us-east-2',
      }).sigv4,
      'the pod identity webhook sets AWS_REGION',
    ).to.deep.equal({ service: 'vpc-lattice-svcs', region: 'us-east-2' });
    expect(upstreamPolicyFromEnv('catalog', { AWS_REGION: 'us-east-2' })).to.not.have.property('sigv4');
  });

  it('when signing is asked for without a region or with a malformed name, then ConfigError names the fix', () => {
    const problems = (env: Record<string, string>): readonly string[] => {
      try {
        upstreamPolicyFromEnv('catalog', env);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
      return [];
    };
    expect(problems({ UPSTREAM_CATALOG_SIGV4_SERVICE: 'vpc-lattice-svcs' })).to.deep.equal([
      'UPSTREAM_CATALOG_SIGV4_SERVICE is set but no region is: set UPSTREAM_CATALOG_SIGV4_REGION or AWS_REGION',
    ]);
    expect(
      problems({ UPSTREAM_CATALOG_SIGV4_SERVICE: 'VPC Lattice', UPSTREAM_CATALOG_SIGV4_REGION: 'Ireland' }),
    ).to.have.length(2);
  });
});
