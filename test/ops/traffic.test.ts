import { expect } from 'chai';
import { defaultConfig, mergeConfig } from '@meshmart/cdk8s/config.ts';
import type { KubeObject } from '@meshmart/ops/lib/kube.ts';
import { objectsFromSynth } from '@meshmart/ops/lib/synth.ts';
import { readWeights, withCanaryWeight } from '@meshmart/ops/lib/traffic.ts';

function rendered(kind: string, name: string, weight?: number): KubeObject {
  const canaries = weight === undefined ? [] : [{ service: 'catalog' as const, version: 'v2', weight }];
  const objects = objectsFromSynth('migration', mergeConfig(defaultConfig(), { canaries }));
  return objects.find((o) => o.kind === kind && o.metadata.name === name)!;
}

describe('ops/lib/traffic on the objects the profiles render', () => {
  for (const [backend, kind, name] of [
    ['app-mesh', 'VirtualRouter', 'catalog-router'],
    ['gateway-api', 'HTTPRoute', 'catalog'],
  ] as const) {
    describe(`${kind} (${backend})`, () => {
      it('when a canary is rendered at 10%, then the split reads v1 90%, v2 10%', () => {
        expect(Object.fromEntries(readWeights(backend, rendered(kind, name, 10), 'catalog'))).to.deep.equal({
          v1: 90,
          v2: 10,
        });
      });

      it('when the weight is set to 20%, then every route carries v1 80 / v2 20 and nothing else changes', () => {
        const object = rendered(kind, name, 10);
        const spec = withCanaryWeight(backend, object, 'catalog', 'v1', 'v2', 20);
        const after = { ...object, spec };
        expect(Object.fromEntries(readWeights(backend, after, 'catalog'))).to.deep.equal({ v1: 80, v2: 20 });
        const strip = (s: unknown): string => JSON.stringify(s).replace(/"weight":\d+/g, '');
        expect(strip(spec)).to.equal(strip(object.spec));
      });

      it('when the route has no target for the new version, then one is added, copied from the stable one', () => {
        const object = rendered(kind, name);
        expect(Object.fromEntries(readWeights(backend, object, 'catalog'))).to.deep.equal({ v1: 100 });
        const spec = withCanaryWeight(backend, object, 'catalog', 'v1', 'v3', 5);
        expect(Object.fromEntries(readWeights(backend, { ...object, spec }, 'catalog'))).to.deep.equal({
          v1: 95,
          v3: 5,
        });
        const text = JSON.stringify(spec);
        expect(text).to.include('"catalog-v3"');
        expect(text.match(/catalog-v3/g)!.length).to.equal(text.match(/catalog-v1/g)!.length);
      });

      it('when one route splits differently from the others, then reading the weights says so', () => {
        const object = structuredClone(rendered(kind, name, 10));
        const spec = withCanaryWeight(backend, object, 'catalog', 'v1', 'v2', 30);
        const lists =
          backend === 'app-mesh'
            ? (spec.routes as { httpRoute: { action: { weightedTargets: { weight: number }[] } } }[]).map(
                (r) => r.httpRoute.action.weightedTargets,
              )
            : (spec.rules as { backendRefs: { weight: number }[] }[]).map((r) => r.backendRefs);
        expect(lists.length).to.be.greaterThan(1);
        lists[0][0].weight = 50;
        expect(() => readWeights(backend, { ...object, spec }, 'catalog')).to.throw(
          /split traffic differently/,
        );
      });
    });
  }
});
