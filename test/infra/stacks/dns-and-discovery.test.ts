import { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'chai';
import { defaultConfig } from '../../../cdk8s/config.ts';
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

describe('infra: Lattice DNS names', function () {
  this.timeout(240_000);
  before(async () => {
    await cloudAssembly();
  });

  for (const env of ENVIRONMENTS) {
    const lattice = (ADDONS.externalDns.profiles as readonly string[]).includes(env.profile);
    describe(`${env.name} (${env.profile})`, () => {
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
    });
  }
});
