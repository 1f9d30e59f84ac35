import { expect } from 'chai';
import { catalogue, dependenciesOf, publishersOf, service, SERVICE_NAMES, TOPICS } from '@meshmart/catalogue';

describe('service catalogue', () => {
  describe('when the catalogue is read', () => {
    it('then it lists every service once, with a unique port', () => {
      expect(catalogue.map((s) => s.name)).to.deep.equal([...SERVICE_NAMES]);
      const ports = catalogue.map((s) => s.port);
      expect(new Set(ports).size).to.equal(ports.length);
      expect(Object.isFrozen(catalogue)).to.equal(true);
      expect(Object.isFrozen(catalogue[0])).to.equal(true);
    });

    it('then every dependency is a known service and the call graph has no cycle', () => {
      const visiting = new Set<string>();
      const done = new Set<string>();
      const visit = (name: string, path: string[]): void => {
        if (done.has(name)) return;
        expect(visiting.has(name), `cycle: ${[...path, name].join(' -> ')}`).to.equal(false);
        visiting.add(name);
        for (const dep of service(name as (typeof SERVICE_NAMES)[number]).dependsOn)
          visit(dep, [...path, name]);
        visiting.delete(name);
        done.add(name);
      };
      for (const s of catalogue) {
        for (const dep of s.dependsOn) expect(SERVICE_NAMES).to.include(dep);
        expect(s.dependsOn).not.to.include(s.name);
        visit(s.name, []);
      }
    });

    it('then every topic has a publisher, and every consumed topic is published', () => {
      for (const topic of TOPICS) expect(publishersOf(topic), topic).to.have.length.greaterThan(0);
      for (const s of catalogue) for (const t of s.consumes) expect(TOPICS).to.include(t);
    });

    it("then dependenciesOf is each service's dependsOn, the gateway's upstreams included", () => {
      for (const name of SERVICE_NAMES) expect(dependenciesOf(name), name).to.equal(service(name).dependsOn);
      expect(dependenciesOf('gateway')).to.include.members(['catalog', 'cart', 'checkout']);
    });

    it('then only the gateway is public', () => {
      expect(catalogue.filter((s) => s.public).map((s) => s.name)).to.deep.equal(['gateway']);
    });
  });

  describe('when an unknown service is asked for', () => {
    it('then the error names it', () => {
      expect(() => service('nope' as 'gateway')).to.throw(/no service named 'nope'/);
    });
  });
});
