import { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'chai';
import { defaultConfig } from '@meshmart/cdk8s/config.ts';
import { ADDONS, pinnedVersion } from '../../../infra/lib/addons.ts';
import { EXTERNAL_DNS_RECORD_TYPES } from '../../../infra/lib/constructs/lattice-dns.ts';
import { DNSENDPOINT_CRD_ANNOTATION, EXTERNAL_DNS } from '../../../infra/lib/constructs/platform-addons.ts';
import { ENVIRONMENTS } from '../../../infra/lib/environments.ts';
import {
  allStatements,
  cloudAssembly,
  flatten,
  helmReleases,
  kubernetesObjects,
  resourcesOf,
  roleStatements,
  template,
  type Template as Json,
} from '../support/assembly.ts';

const LATTICE_DOMAIN = defaultConfig().latticeDomain;
const ZONE_ARN = (zoneRef: string) => `arn:<<ref:AWS::Partition>>:route53:::hostedzone/${zoneRef}`;

/** The logical id of the IRSA role whose trust names this ServiceAccount. */
function roleOf(t: Json, namespace: string, serviceAccount: string): string {
  const sub = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const ids = resourcesOf(t, 'AWS::IAM::Role')
    .filter(([, role]) => {
      const st = (role.Properties.AssumeRolePolicyDocument.Statement as any[])[0];
      const cfnJson = st.Condition?.StringEquals?.['Fn::GetAtt']?.[0] as string | undefined;
      if (cfnJson === undefined) return false;
      const conditions = JSON.parse(flatten(t.Resources[cfnJson].Properties.Value)) as Record<string, string>;
      return Object.entries(conditions).some(([k, v]) => k.endsWith(':sub') && v === sub);
    })
    .map(([id]) => id);
  expect(ids, sub).to.have.length(1);
  return ids[0];
}

/** The only VPC of the stack, the cluster's. */
function vpcOf(t: Json): string {
  const vpcs = resourcesOf(t, 'AWS::EC2::VPC');
  expect(vpcs).to.have.length(1);
  return vpcs[0][0];
}

describe('infra: Lattice DNS names and Cloud Map discovery', function () {
  this.timeout(240_000);
  before(async () => {
    await cloudAssembly();
  });

  for (const env of ENVIRONMENTS) {
    const lattice = (ADDONS.externalDns.profiles as readonly string[]).includes(env.profile);
    describe(`${env.name} (${env.profile}${env.cloudMap ? `, Cloud Map ${env.cloudMap.namespaceType}` : ''})`, () => {
      let json: Json;
      let t: Template;
      before(async () => {
        json = await template(env.name);
        t = Template.fromJSON(json);
      });

      if (lattice) {
        it("when Lattice callers dial <service>.<domain>, then a private zone of that domain is associated with the cluster's VPC and holds every route's name", () => {
          const zones = resourcesOf(json, 'AWS::Route53::HostedZone');
          expect(zones).to.have.length(1);
          const [, zone] = zones[0];
          expect(zone.Properties.Name).to.equal(`${LATTICE_DOMAIN}.`);
          // A zone with VPCs is private: Route 53 answers its names only inside them.
          expect(zone.Properties.VPCs).to.deep.equal([
            { VPCId: { Ref: vpcOf(json) }, VPCRegion: env.region },
          ]);
          t.hasResourceProperties('AWS::EC2::VPC', { EnableDnsSupport: true, EnableDnsHostnames: true });
          const hostnames = kubernetesObjects(json)
            .filter((o) => o.kind === 'HTTPRoute')
            .flatMap((o) => o.spec.hostnames as string[]);
          expect(hostnames.length).to.be.above(0);
          for (const h of hostnames)
            expect(h).to.match(new RegExp(`^[a-z-]+\\.${LATTICE_DOMAIN.replace('.', '\\.')}$`));
          // The Gateway's service network is created and associated with the VPC by the controller.
          const gateway = kubernetesObjects(json).find((o) => o.kind === 'Gateway');
          const controller = helmReleases(json).find((r) => r.chart === ADDONS.gatewayApiController.chart)!;
          expect(controller.values.defaultServiceNetwork).to.equal(gateway.metadata.name);
        });

        it('when ExternalDNS writes the records, then its role may change that zone only, CNAME and TXT records only', () => {
          const [[zoneId]] = resourcesOf(json, 'AWS::Route53::HostedZone');
          const statements = roleStatements(json, roleOf(json, ADDONS.externalDns.namespace, EXTERNAL_DNS));
          expect(statements.flatMap((s) => s.Action).sort()).to.deep.equal([
            'route53:ChangeResourceRecordSets',
            'route53:ListHostedZones',
            'route53:ListResourceRecordSets',
          ]);
          for (const s of statements) {
            expect(s.Effect).to.equal('Allow');
            if (s.Action.includes('route53:ListHostedZones')) expect(s.Resource).to.deep.equal(['*']);
            else expect(s.Resource, s.Sid).to.deep.equal([ZONE_ARN(`<<ref:${zoneId}>>`)]);
          }
          const change = statements.find((s) => s.Action.includes('route53:ChangeResourceRecordSets'))!;
          expect(change.Condition).to.deep.equal({
            'ForAllValues:StringEquals': {
              'route53:ChangeResourceRecordSetsRecordTypes': [...EXTERNAL_DNS_RECORD_TYPES],
            },
          });
          // Nobody else may change the Lattice zone, or every zone.
          for (const { roles, statement } of allStatements(json))
            if (statement.Action.some((a) => /^route53:(ChangeResourceRecordSets|\*)$|^\*$/.test(a)))
              expect(statement.Resource, `${roles.join()} ${statement.Sid}`).to.not.include.members([
                ZONE_ARN(`<<ref:${zoneId}>>`),
                '*',
              ]);
          const changers = allStatements(json).filter(
            ({ statement }) =>
              statement.Action.includes('route53:ChangeResourceRecordSets') &&
              statement.Resource.includes(ZONE_ARN(`<<ref:${zoneId}>>`)),
          );
          expect(changers.map((c) => c.roles)).to.deep.equal([[roleOf(json, 'external-dns', EXTERNAL_DNS)]]);
        });

        it('when ExternalDNS is installed, then it is the pinned chart reading DNSEndpoints of the crd source into that zone, after the controller that owns their CRD', () => {
          const [[zoneId]] = resourcesOf(json, 'AWS::Route53::HostedZone');
          const releases = helmReleases(json);
          const dns = releases.filter((r) => r.chart === ADDONS.externalDns.chart);
          expect(dns).to.have.length(1);
          const [release] = dns;
          expect(release.version).to.equal(pinnedVersion(ADDONS.externalDns)).and.to.equal('1.21.1');
          expect(release.namespace).to.equal('external-dns');
          const v = release.values;
          expect(v.provider).to.deep.equal({ name: 'aws' });
          expect(v.sources).to.deep.equal(['crd']);
          expect(v.extraArgs).to.deep.include({
            'crd-source-apiversion': 'externaldns.k8s.io/v1alpha1',
            'crd-source-kind': 'DNSEndpoint',
            'aws-zone-type': 'private',
            'zone-id-filter': `<<ref:${zoneId}>>`,
          });
          expect(v.domainFilters).to.deep.equal([LATTICE_DOMAIN]);
          expect(v.policy).to.equal('sync');
          expect(v.txtOwnerId).to.match(/^<<ref:EksCluster[A-Za-z0-9]+>>$/);
          // The controller writes DNSEndpoints only if their CRD exists when it starts: its chart installs it, and a
          // pod annotation restarts a controller that was running before.
          const controller = releases.find((r) => r.chart === ADDONS.gatewayApiController.chart)!;
          expect(controller.values.installExternalDNSCRD).to.equal(true);
          expect(controller.values.deployment.annotations[DNSENDPOINT_CRD_ANNOTATION]).to.equal('installed');
          expect(release.skipCrds, "the CRD is the controller release's").to.equal(true);
          expect(release.dependsOn).to.include(controller.id);
        });
      } else {
        it('when the profile has no Lattice, then there is no Lattice zone and no ExternalDNS', () => {
          t.resourceCountIs('AWS::Route53::HostedZone', 0);
          const releases = helmReleases(json);
          expect(releases.map((r) => r.chart)).to.not.include(ADDONS.externalDns.chart);
          expect(releases.some((r) => 'installExternalDNSCRD' in r.values)).to.equal(false);
        });
      }

      if (env.cloudMap) {
        const { namespace, namespaceType } = env.cloudMap;
        it('when App Mesh discovers through Cloud Map, then the stack creates the namespace every VirtualNode names', () => {
          const type =
            namespaceType === 'dns-private'
              ? 'AWS::ServiceDiscovery::PrivateDnsNamespace'
              : 'AWS::ServiceDiscovery::HttpNamespace';
          t.resourceCountIs(type, 1);
          t.hasResourceProperties(type, {
            Name: namespace,
            ...(namespaceType === 'dns-private' ? { Vpc: { Ref: vpcOf(json) } } : {}),
          });
          const nodes = kubernetesObjects(json).filter((o) => o.kind === 'VirtualNode');
          expect(nodes.length).to.be.above(0);
          for (const node of nodes) {
            const labels = node.metadata.labels as Record<string, string>;
            expect(node.spec.serviceDiscovery, node.metadata.name).to.deep.equal({
              awsCloudMap: {
                namespaceName: namespace,
                serviceName: labels['app.kubernetes.io/name'],
                attributes: [
                  { key: 'app.kubernetes.io/version', value: labels['app.kubernetes.io/version'] },
                ],
              },
            });
          }
        });

        it("when App Mesh discovers through Cloud Map, then the controller's role manages that namespace's services, and writes that namespace's zone only", () => {
          const [[namespaceId]] = resourcesOf(
            json,
            namespaceType === 'dns-private'
              ? 'AWS::ServiceDiscovery::PrivateDnsNamespace'
              : 'AWS::ServiceDiscovery::HttpNamespace',
          );
          const statements = roleStatements(json, roleOf(json, 'appmesh-system', 'appmesh-controller'));
          const on = (action: string) =>
            statements.filter((s) => s.Action.includes(action)).flatMap((s) => s.Resource);
          const services = `arn:<<ref:AWS::Partition>>:servicediscovery:${env.region}:${env.account}:service/*`;
          expect(on('servicediscovery:CreateService').sort()).to.deep.equal(
            [`<<role:${namespaceId}>>`, services].sort(),
          );
          for (const action of [
            'RegisterInstance',
            'DeregisterInstance',
            'GetInstance',
            'ListInstances',
            'GetInstancesHealthStatus',
            'UpdateInstanceCustomHealthStatus',
            'GetService',
            'DeleteService',
          ])
            expect(on(`servicediscovery:${action}`), action).to.deep.equal([services]);
          expect(on('servicediscovery:ListNamespaces')).to.deep.equal(['*']);
          expect(on('servicediscovery:ListServices')).to.deep.equal(['*']);
          expect(on('route53:ChangeResourceRecordSets')).to.deep.equal(
            namespaceType === 'dns-private' ? [ZONE_ARN(`<<${namespaceId}.HostedZoneId>>`)] : [],
          );
          const actions = statements.flatMap((s) => s.Action);
          expect(
            actions.filter((a) => a.startsWith('route53:') && a !== 'route53:ChangeResourceRecordSets'),
          ).to.deep.equal([]);
          expect(actions.filter((a) => /^servicediscovery:.*\*/.test(a))).to.deep.equal([]);
        });
      } else {
        it('when App Mesh (if any) discovers through DNS, then there is no Cloud Map namespace and no role has a Cloud Map right', () => {
          t.resourceCountIs('AWS::ServiceDiscovery::PrivateDnsNamespace', 0);
          t.resourceCountIs('AWS::ServiceDiscovery::HttpNamespace', 0);
          const cloudMapActions = allStatements(json).flatMap(({ statement }) =>
            statement.Action.filter((a) => a.startsWith('servicediscovery:')),
          );
          expect(cloudMapActions).to.deep.equal([]);
          for (const node of kubernetesObjects(json).filter((o) => o.kind === 'VirtualNode'))
            expect(Object.keys(node.spec.serviceDiscovery), node.metadata.name).to.deep.equal(['dns']);
        });
      }
    });
  }

  it('when an environment turns Cloud Map on, then it is synthesized and checked here', () => {
    expect(ENVIRONMENTS.filter((e) => e.cloudMap).map((e) => e.name)).to.deep.equal(['cloudmap']);
  });
});
