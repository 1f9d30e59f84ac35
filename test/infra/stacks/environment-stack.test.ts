import { Match, Template } from 'aws-cdk-lib/assertions';
import { expect } from 'chai';
import { catalogue } from '@meshmart/catalogue';
import { defaultConfig, mergeConfig } from '@meshmart/cdk8s/config.ts';
import { buildProfile } from '@meshmart/cdk8s/profiles/index.ts';
import { profileObjects } from '@meshmart/cdk8s/synth.ts';
import { ADDONS, pinnedVersion } from '../../../infra/lib/addons.ts';
import { KUBERNETES_VERSION } from '../../../infra/lib/constructs/cluster.ts';
import { EXTERNAL_SECRETS } from '../../../infra/lib/constructs/platform-addons.ts';
import { ENVIRONMENTS } from '../../../infra/lib/environments.ts';
import { appMeshConfig } from '../../../infra/lib/stacks/environment-stack.ts';
import {
  cloudAssembly,
  flatten,
  helmReleases,
  kubernetesObjects,
  resourcesOf,
  template,
  type Template as Json,
} from '../support/assembly.ts';

const ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';

/** Logical ids of the isolated (data) subnets: CDK tags each subnet with its type. */
function isolatedSubnets(t: Json): Set<string> {
  return new Set(
    resourcesOf(t, 'AWS::EC2::Subnet')
      .filter(([, r]) =>
        (r.Properties.Tags as { Key: string; Value: string }[]).some(
          (tag) => tag.Key === 'aws-cdk:subnet-type' && tag.Value === 'Isolated',
        ),
      )
      .map(([id]) => id),
  );
}

const refIds = (list: { Ref: string }[]): string[] => list.map((x) => x.Ref);

/** Role logical id -> its trust's `sub` condition, for roles assumed through the cluster's OIDC provider. */
function irsaTrust(t: Json): Map<string, { sub: unknown; aud: unknown; keys: string[] }> {
  const out = new Map<string, { sub: unknown; aud: unknown; keys: string[] }>();
  for (const [id, role] of resourcesOf(t, 'AWS::IAM::Role')) {
    const statements = role.Properties.AssumeRolePolicyDocument.Statement as any[];
    const federated = statements.filter((s) => s.Principal?.Federated);
    if (federated.length === 0) continue;
    expect(statements, `${id}: a web-identity role has only the web-identity statement`).to.have.length(1);
    const st = federated[0];
    expect(st.Action, id).to.equal('sts:AssumeRoleWithWebIdentity');
    expect(st.Effect, id).to.equal('Allow');
    // The conditions are a CfnJson (keys hold the issuer, a reference); read its value.
    const cfnJsonId = st.Condition.StringEquals['Fn::GetAtt'][0] as string;
    const conditions = JSON.parse(flatten(t.Resources[cfnJsonId].Properties.Value)) as Record<
      string,
      unknown
    >;
    const keys = Object.keys(conditions);
    const sub = conditions[keys.find((k) => k.endsWith(':sub'))!];
    const aud = conditions[keys.find((k) => k.endsWith(':aud'))!];
    out.set(id, { sub, aud, keys });
  }
  return out;
}

describe('infra: EnvironmentStack', function () {
  this.timeout(240_000);
  before(async () => {
    await cloudAssembly();
  });

  for (const env of ENVIRONMENTS) {
    describe(`${env.name} (${env.profile})`, () => {
      let json: Json;
      let t: Template;
      before(async () => {
        json = await template(env.name);
        t = Template.fromJSON(json);
      });

      it('when DocumentDB is created, then its storage is encrypted, TLS is required and it lives in data subnets only', () => {
        t.hasResourceProperties('AWS::DocDB::DBCluster', {
          StorageEncrypted: true,
          EnableCloudwatchLogsExports: Match.arrayWith(['audit', 'profiler']),
          MasterUserPassword: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
        });
        t.hasResourceProperties('AWS::DocDB::DBClusterParameterGroup', {
          Parameters: Match.objectLike({ tls: 'enabled' }),
        });
        const data = isolatedSubnets(json);
        const [[, group]] = resourcesOf(json, 'AWS::DocDB::DBSubnetGroup');
        expect(refIds(group.Properties.SubnetIds).every((id) => data.has(id))).to.equal(true);
        const password = JSON.stringify(
          resourcesOf(json, 'AWS::DocDB::DBCluster')[0][1].Properties.MasterUserPassword,
        );
        expect(password).to.include('{{resolve:secretsmanager:');
      });

      it('when ElastiCache is created, then it encrypts at rest and in transit, requires TLS and RBAC, in data subnets only', () => {
        t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
          AtRestEncryptionEnabled: true,
          TransitEncryptionEnabled: true,
          TransitEncryptionMode: 'required',
          UserGroupIds: Match.anyValue(),
          MultiAZEnabled: env.cache.replicas > 0,
        });
        t.hasResourceProperties('AWS::ElastiCache::User', { UserName: 'default', AccessString: 'off -@all' });
        for (const [, user] of resourcesOf(json, 'AWS::ElastiCache::User'))
          expect(JSON.stringify(user.Properties.AuthenticationMode.Passwords)).to.include(
            '{{resolve:secretsmanager:',
          );
        const data = isolatedSubnets(json);
        const [[, group]] = resourcesOf(json, 'AWS::ElastiCache::SubnetGroup');
        expect(refIds(group.Properties.SubnetIds).every((id) => data.has(id))).to.equal(true);
      });

      it('when anything reaches the data stores, then it is the cluster security group, never an address range', () => {
        const stores = resourcesOf(json, 'AWS::EC2::SecurityGroup').filter(([, r]) =>
          /DocumentDB|ElastiCache/.test(r.Properties.GroupDescription as string),
        );
        expect(stores).to.have.length(2);
        for (const [id, sg] of stores) {
          expect(sg.Properties.SecurityGroupIngress ?? [], id).to.deep.equal([]);
          const ingress = resourcesOf(json, 'AWS::EC2::SecurityGroupIngress').filter(
            ([, r]) => r.Properties.GroupId?.['Fn::GetAtt']?.[0] === id,
          );
          expect(ingress, id).to.have.length(1);
          expect(ingress[0][1].Properties.SourceSecurityGroupId, id).to.not.equal(undefined);
          expect(ingress[0][1].Properties.CidrIp, id).to.equal(undefined);
        }
        for (const [id, r] of resourcesOf(json, 'AWS::EC2::SecurityGroupIngress'))
          expect(r.Properties.CidrIp, id).to.not.equal('0.0.0.0/0');
      });

      it('when the EKS cluster is created, then its API is private, Secrets are KMS-encrypted and every log type is on', () => {
        t.hasResourceProperties('AWS::EKS::Cluster', {
          Version: KUBERNETES_VERSION.version,
          ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: false, EndpointPrivateAccess: true }),
          EncryptionConfig: [Match.objectLike({ Resources: ['secrets'] })],
          Logging: {
            ClusterLogging: {
              EnabledTypes: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'].map(
                (type) => ({ Type: type }),
              ),
            },
          },
        });
        t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
        t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
          LaunchTemplateData: Match.objectLike({
            MetadataOptions: Match.objectLike({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 }),
            BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
          }),
        });
      });

      it('when images are pushed, then each repository scans on push and never overwrites a tag', () => {
        t.resourceCountIs('AWS::ECR::Repository', 1);
        t.hasResourceProperties('AWS::ECR::Repository', {
          RepositoryName: 'meshmart/services',
          ImageScanningConfiguration: { ScanOnPush: true },
          ImageTagMutability: 'IMMUTABLE',
        });
      });

      it('when a role is assumed through IRSA, then its trust names exactly one ServiceAccount and STS as audience', () => {
        const trust = irsaTrust(json);
        expect(trust.size).to.be.above(catalogue.length);
        for (const [id, { sub, aud, keys }] of trust) {
          expect(keys, id).to.have.length(2);
          expect(aud, id).to.equal('sts.amazonaws.com');
          expect(sub, id).to.match(/^system:serviceaccount:[a-z0-9-]+:[a-z0-9-]+$/);
        }
      });

      it('when a manifest or Helm value names an IAM role, then the stack creates it for that ServiceAccount, and no other', () => {
        const trust = irsaTrust(json);
        const named = new Map<string, string>();
        for (const o of kubernetesObjects(json)) {
          const arn =
            o.kind === 'ServiceAccount' ? (o.metadata.annotations?.[ROLE_ANNOTATION] as string) : undefined;
          if (arn) named.set(arn, `system:serviceaccount:${o.metadata.namespace}:${o.metadata.name}`);
        }
        const principals = kubernetesObjects(json)
          .filter((o) => o.kind === 'IAMAuthPolicy')
          .flatMap((o) => JSON.parse(o.spec.policy).Statement.flatMap((s: any) => [s.Principal.AWS].flat()));
        for (const p of principals)
          expect(named.has(p), `IAMAuthPolicy principal ${p} is a ServiceAccount's role`).to.equal(true);
        for (const release of helmReleases(json)) {
          const arn = release.values.serviceAccount?.annotations?.[ROLE_ANNOTATION] as string | undefined;
          const sa = (release.values.serviceAccount?.name as string | undefined) ?? release.chart;
          if (arn) named.set(arn, `system:serviceaccount:${release.namespace}:${sa}`);
        }
        // aws-eks-v2's own ServiceAccount (AWS Load Balancer Controller) is a manifest too, and is in the map.
        const literal = [...named.keys()].filter((arn) => !/^<<role:[A-Za-z0-9]+>>$/.test(arn));
        expect(literal, 'role ARNs are references to roles of this stack, never literals').to.deep.equal([]);
        const namedRoles = new Map([...named].map(([arn, sub]) => [arn.slice('<<role:'.length, -2), sub]));
        expect([...namedRoles.keys()].sort()).to.deep.equal([...trust.keys()].sort());
        for (const [id, sub] of namedRoles) expect(trust.get(id)!.sub, id).to.equal(sub);
        for (const entry of catalogue)
          expect([...namedRoles.values()], entry.name).to.include(
            `system:serviceaccount:meshmart:${entry.name}`,
          );
      });

      it('when the profile is applied, then the stack applies every object make synth renders for it, once', () => {
        const config = mergeConfig(defaultConfig(), {
          replicas: env.app.replicas,
          maxReplicas: env.app.maxReplicas,
          ...appMeshConfig(env),
        });
        const key = (o: { kind: string; metadata: { namespace?: string; name?: string } }) =>
          `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
        const expected = profileObjects(buildProfile(env.profile, config)).map(key).sort();
        const applied = kubernetesObjects(json).map(key);
        const profileKeys = new Set(expected);
        expect(applied.filter((k) => profileKeys.has(k)).sort()).to.deep.equal(expected);
        const flat = JSON.stringify(kubernetesObjects(json));
        for (const placeholder of ['cluster-example', 'example.euw1', ':role/meshmart-'])
          expect(flat, `no '${placeholder}' placeholder left in the manifests`).to.not.include(placeholder);
      });

      it("when add-ons are installed, then they are the profile's, at the versions charts/addons pins", () => {
        const releases = helmReleases(json);
        const expected = [...Object.values(ADDONS), EXTERNAL_SECRETS].filter((a) =>
          (a.profiles as readonly string[]).includes(env.profile),
        );
        for (const addon of expected)
          expect(
            releases.some(
              (r) =>
                r.chart === addon.chart &&
                r.version === pinnedVersion(addon) &&
                r.namespace === addon.namespace,
            ),
            addon.chart,
          ).to.equal(true);
        const lattice = env.profile !== 'eks-appmesh';
        const appMesh = env.profile !== 'eks-lattice';
        expect(releases.some((r) => r.chart === ADDONS.gatewayApiController.chart)).to.equal(lattice);
        expect(releases.some((r) => r.chart === ADDONS.appMeshController.chart)).to.equal(appMesh);
      });
    });
  }
});
