import { expect } from 'chai';
import {
  createCrdValidator,
  strictSchema,
  validateCustomResource,
} from '@meshmart/cdk8s/validation/crd-validator.ts';

const httpRoute = (rule: Record<string, unknown>) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'r', namespace: 'meshmart' },
  spec: { parentRefs: [{ name: 'meshmart' }], rules: [{ backendRefs: [{ name: 's', port: 80 }], ...rule }] },
});

const prometheusRule = (strategy: string) => ({
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'rules', namespace: 'meshmart' },
  spec: {
    groups: [{ name: 'g', partial_response_strategy: strategy, rules: [{ alert: 'Down', expr: 'up == 0' }] }],
  },
});

const serviceMonitor = (targetPort: unknown) => ({
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'ServiceMonitor',
  metadata: { name: 'sm', namespace: 'meshmart' },
  spec: { selector: { matchLabels: { app: 'x' } }, endpoints: [{ targetPort, path: '/metrics' }] },
});

describe('cdk8s/validation/crd-validator', () => {
  it('when loaded, then every served version of every vendored CRD is known', () => {
    const kinds = createCrdValidator().kinds();
    expect(kinds).to.include.members([
      'appmesh.k8s.aws/v1beta2/VirtualNode',
      'gateway.networking.k8s.io/v1/HTTPRoute',
      'gateway.networking.k8s.io/v1beta1/HTTPRoute',
      'application-networking.k8s.aws/v1alpha1/TargetGroupPolicy',
      'monitoring.coreos.com/v1/PrometheusRule',
    ]);
    expect(kinds).to.have.length(26);
  });

  it('when a resource matches its CRD, then there are no problems', () => {
    expect(validateCustomResource(httpRoute({}))).to.deep.equal([]);
    expect(validateCustomResource(prometheusRule('abort'))).to.deep.equal([]);
  });

  it('when a field is unknown, then it is rejected with its name (strict, as kubectl --validate=strict)', () => {
    expect(validateCustomResource(httpRoute({ retries: 3 }))).to.deep.equal([
      "HTTPRoute r: /spec/rules/0: unknown field 'retries'",
    ]);
  });

  it('when a node preserves unknown fields (the App Mesh root), then extra fields there pass but not in nested closed nodes', () => {
    const mesh = {
      apiVersion: 'appmesh.k8s.aws/v1beta2',
      kind: 'Mesh',
      metadata: { name: 'm' },
      spec: {},
      extra: { goes: 1 },
    };
    expect(validateCustomResource(mesh)).to.deep.equal([]);
    expect(validateCustomResource({ ...mesh, spec: { extra: 1 } })).to.deep.equal([
      "Mesh m: /spec: unknown field 'extra'",
    ]);
    expect(validateCustomResource({ ...httpRoute({}), extra: 1 })).to.deep.equal([
      "HTTPRoute r: /: unknown field 'extra'",
    ]);
  });

  it('when a value breaks a range, then it is rejected', () => {
    const problems = validateCustomResource(
      httpRoute({ backendRefs: [{ name: 's', port: 80, weight: 2_000_000 }] }),
    );
    expect(problems).to.deep.equal(['HTTPRoute r: /spec/rules/0/backendRefs/0/weight: must be <= 1000000']);
  });

  it('when a list of type set repeats an item, then it is rejected', () => {
    const cors = { filters: [{ type: 'CORS', cors: { allowMethods: ['GET', 'GET'] } }] };
    expect(validateCustomResource(httpRoute(cors)).join('\n')).to.match(
      /allowMethods: items 0 and 1 are equal; a list of type set needs unique items/,
    );
  });

  it('when a list of type map repeats a key, then it is rejected', () => {
    const headers = {
      filters: [
        {
          type: 'RequestHeaderModifier',
          requestHeaderModifier: {
            set: [
              { name: 'x', value: '1' },
              { name: 'x', value: '2' },
            ],
          },
        },
      ],
    };
    expect(validateCustomResource(httpRoute(headers)).join('\n')).to.match(
      /set: items 0 and 1 share the key \(name\)/,
    );
  });

  it('when a pattern starts with Go (?i), then it matches case-insensitively', () => {
    expect(validateCustomResource(prometheusRule('WARN'))).to.deep.equal([]);
    expect(validateCustomResource(prometheusRule('retry')).join('\n')).to.match(
      /partial_response_strategy: must match pattern/,
    );
  });

  it('when a field is int-or-string, then both an integer and a name pass and an object does not', () => {
    expect(validateCustomResource(serviceMonitor(8080))).to.deep.equal([]);
    expect(validateCustomResource(serviceMonitor('http'))).to.deep.equal([]);
    expect(validateCustomResource(serviceMonitor({ port: 1 }))).to.not.deep.equal([]);
  });

  it('when int-or-string comes without anyOf, then the strict schema spells it out', () => {
    const s = strictSchema({ type: 'object', properties: { port: { 'x-kubernetes-int-or-string': true } } });
    expect(s).to.deep.equal({
      type: 'object',
      additionalProperties: false,
      properties: {
        port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
      },
    });
  });

  it('when kind or apiVersion is unknown, then that is a problem naming the served versions', () => {
    expect(
      validateCustomResource({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }),
    ).to.deep.equal(["Widget w: no CRD in cdk8s/crds defines kind 'Widget' in apiVersion 'example.com/v1'"]);
    expect(
      validateCustomResource({ ...httpRoute({}), apiVersion: 'gateway.networking.k8s.io/v1alpha2' }),
    ).to.deep.equal([
      "HTTPRoute r: apiVersion 'gateway.networking.k8s.io/v1alpha2' is not served for HTTPRoute; use gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1",
    ]);
  });

  it('when a cluster-scoped kind has a namespace or a name is missing, then both are problems', () => {
    const problems = validateCustomResource({
      apiVersion: 'appmesh.k8s.aws/v1beta2',
      kind: 'Mesh',
      metadata: { namespace: 'x' },
      spec: {},
    });
    expect(problems).to.include(
      "Mesh <no name>: metadata.name must be a lowercase DNS subdomain (a-z, 0-9, '-', '.')",
    );
    expect(problems).to.include('Mesh <no name>: Mesh is cluster-scoped; remove metadata.namespace');
  });

  it('when an enum value is wrong, then the allowed values are listed', () => {
    const mesh = {
      apiVersion: 'appmesh.k8s.aws/v1beta2',
      kind: 'Mesh',
      metadata: { name: 'm' },
      spec: { egressFilter: { type: 'DENY' } },
    };
    expect(validateCustomResource(mesh)).to.deep.equal([
      'Mesh m: /spec/egressFilter/type: must be equal to one of the allowed values (ALLOW_ALL, DROP_ALL)',
    ]);
  });
});
