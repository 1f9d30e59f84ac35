import { expect } from 'chai';
import { catalogue } from '@meshmart/catalogue';
import { trafficModel } from '@meshmart/mesh/model.ts';
import { migrationReport } from '@meshmart/mesh/render/migration.ts';

describe('mesh/render/migration', () => {
  const md = migrationReport(trafficModel({ canaries: [{ service: 'catalog', version: 'v2', weight: 10 }] }));
  /** The section of one service: from its heading to the next one. */
  const section = (name: string): string => {
    const start = md.indexOf(`## ${name}\n`);
    expect(start, `section ${name}`).to.be.at.least(0);
    const end = md.indexOf('\n## ', start + 1);
    return md.slice(start, end < 0 ? undefined : end);
  };

  it('when written, then every service has a section in catalogue order', () => {
    const sections = md
      .split('\n')
      .filter((l) => l.startsWith('## '))
      .map((l) => l.slice(3));
    expect(sections).to.deep.equal(catalogue.map((s) => s.name));
  });

  it('when catalog runs a canary, then both sides show the same weights and the object mapping', () => {
    const catalog = section('catalog');
    expect(catalog).to.contain('Weights (same on both sides): `catalog-v1` 90, `catalog-v2` 10.');
    expect(catalog).to.contain(
      '| VirtualNode `catalog-v2` | Service `catalog-v2` + TargetGroupPolicy `catalog-v2` |',
    );
    expect(catalog).to.contain('HTTPRoute `catalog` (2 rules)');
    expect(catalog).to.contain('IAMAuthPolicy `catalog`');
  });

  it('when a policy moves out of the mesh, then the section says where it goes', () => {
    const payments = section('payments');
    expect(payments).to.contain("route `idempotent-writes`: header match 'idempotency-key' present");
    expect(payments).to.match(/retries: 2 x 700 ms .* -> the kit HTTP client of checkout/);
    expect(payments).to.contain('Client env on checkout: `UPSTREAM_PAYMENTS_TIMEOUT_MS=2000');
  });

  it('when the public service is migrated, then it moves to a load balancer', () => {
    const gateway = section('gateway');
    expect(gateway).to.contain('load balancer in front of Service `gateway`');
    expect(gateway).to.contain('Weights: `gateway-v1` 100 (App Mesh router;');
    expect(gateway).to.not.contain('same on both sides');
  });
});
