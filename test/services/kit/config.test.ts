import { expect } from 'chai';
import {
  ConfigError,
  bool,
  describeConfig,
  int,
  kitSettings,
  loadConfig,
  oneOf,
  optional,
  port,
  secret,
  url,
} from '@meshmart/kit';

const spec = {
  port: port({ env: 'PORT', default: 8080, doc: 'port' }),
  workers: int({ env: 'WORKERS', default: 2, min: 1, max: 8, doc: 'workers' }),
  mode: oneOf(['a', 'b'], { env: 'MODE', default: 'a', doc: 'mode' }),
  debug: bool({ env: 'DEBUG', default: false, doc: 'debug' }),
  upstream: optional(url({ env: 'UPSTREAM', protocols: ['http'], doc: 'upstream' })),
  signingKey: secret({ env: 'SIGNING_KEY', minLength: 32, doc: 'JWT signing key' }),
};

describe('config', () => {
  describe('when every value is valid', () => {
    it('then a typed, frozen object with defaults is returned', () => {
      const config = loadConfig('svc', spec, { SIGNING_KEY: 'k'.repeat(32), WORKERS: '4', DEBUG: 'true' });
      expect(config).to.deep.equal({
        port: 8080,
        workers: 4,
        mode: 'a',
        debug: true,
        upstream: undefined,
        signingKey: 'k'.repeat(32),
      });
      expect(Object.isFrozen(config)).to.equal(true);
      const n: number = config.workers;
      expect(n).to.equal(4);
    });
  });

  describe('when several values are wrong', () => {
    it('then every problem is listed at once and secrets are never echoed', () => {
      let error: unknown;
      try {
        loadConfig('svc', spec, {
          PORT: '70000',
          WORKERS: 'two',
          MODE: 'c',
          DEBUG: 'maybe',
          UPSTREAM: 'ftp://x',
          SIGNING_KEY: 'short-secret',
        });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems).to.have.length(6);
      expect(problems.join('\n')).to.match(/PORT must be <= 65535/);
      expect(problems.join('\n')).to.match(/WORKERS must be an integer/);
      expect(problems.join('\n')).to.match(/MODE must be one of a, b/);
      expect(problems.join('\n')).to.match(/DEBUG must be true or false/);
      expect(problems.join('\n')).to.match(/UPSTREAM must use http/);
      expect(problems.join('\n')).to.match(/SIGNING_KEY must be at least 32 characters/);
      expect((error as Error).message).not.to.contain('short-secret');
    });
  });

  describe('when a secret is missing', () => {
    it('then it is required: no default secret exists', () => {
      expect(() => loadConfig('svc', spec, {})).to.throw(ConfigError, /SIGNING_KEY is required/);
    });
  });

  describe('when the kit settings are loaded from an empty environment', () => {
    it('then every kit setting has a safe default and is documented', () => {
      const config = loadConfig('svc', kitSettings({ port: 8081 }), {});
      expect(config.port).to.equal(8081);
      expect(config.tracing).to.equal('w3c');
      expect(config.traceSampleRatio).to.equal(0.1);
      expect(config.otlpEndpoint).to.equal(undefined);
      const lines = describeConfig(kitSettings({ port: 8081 }));
      expect(lines.find((l) => l.startsWith('SHUTDOWN_GRACE_MS'))).to.contain('default 20000');
      expect(describeConfig(spec).find((l) => l.startsWith('SIGNING_KEY'))).to.contain('required, secret');
    });
  });
});
