import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack } from 'aws-cdk-lib';
import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { ADDONS, addonValues, pinnedVersion, type AddonChart } from '../addons.ts';
import { acknowledge } from '../nag.ts';
import type { EksProfileName } from '../environments.ts';
import { appMeshCloudMapStatements, type CloudMapNamespace } from './cloud-map.ts';
import { externalDnsStatements, type LatticeDns, type StatementJson } from './lattice-dns.ts';
import { ROLE_ANNOTATION, type WorkloadIdentity } from './workload-roles.ts';

/** Installed with every EKS profile: copies Secrets Manager secrets into the Secrets the manifests reference. */
export const EXTERNAL_SECRETS: AddonChart = {
  folder: 'external-secrets',
  chart: 'external-secrets',
  repository: 'https://charts.external-secrets.io',
  namespace: 'external-secrets',
  release: 'external-secrets',
  profiles: ['eks-appmesh', 'eks-lattice', 'migration'],
};

/** The App Mesh mesh the profiles render (renderAppMesh's default name). */
export const MESH_NAME = 'meshmart';
/** ExternalDNS's role key and ServiceAccount (charts/addons/external-dns/values.yaml names it). */
export const EXTERNAL_DNS = 'external-dns';
/**
 * A pod annotation of the Gateway API controller that changes with the DNSEndpoint CRD, so a controller already
 * running restarts when the CRD is added: it looks for the CRD once, as it starts.
 */
export const DNSENDPOINT_CRD_ANNOTATION = 'meshmart.dev/dnsendpoint-crd';

/** The IRSA identities of the controllers this construct installs for a profile. */
export function controllerIdentities(profile: EksProfileName): WorkloadIdentity[] {
  const out: WorkloadIdentity[] = [];
  if (uses(ADDONS.appMeshController, profile))
    out.push({
      key: 'appmesh-controller',
      namespace: 'appmesh-system',
      serviceAccount: 'appmesh-controller',
    });
  if (uses(ADDONS.gatewayApiController, profile))
    out.push({
      key: 'gateway-api-controller',
      namespace: 'aws-application-networking-system',
      serviceAccount: 'gateway-api-controller',
    });
  if (uses(ADDONS.externalDns, profile))
    out.push({ key: EXTERNAL_DNS, namespace: ADDONS.externalDns.namespace, serviceAccount: EXTERNAL_DNS });
  return out;
}

const uses = (addon: AddonChart, profile: EksProfileName): boolean => addon.profiles.includes(profile);

export interface PlatformAddonsProps {
  readonly cluster: eks.Cluster;
  readonly profile: EksProfileName;
  /** Roles of `controllerIdentities(profile)`, by key. */
  readonly roles: (key: string) => iam.Role;
  /** The Lattice custom domain's zone: required by the profiles that install ExternalDNS. */
  readonly latticeDns?: LatticeDns;
  /** App Mesh with AWS Cloud Map discovery: the namespace the controller registers pods in. */
  readonly cloudMap?: CloudMapNamespace;
}

/**
 * The platform add-ons of a profile as Helm releases, at the versions and with the values charts/addons pins:
 * the App Mesh controller and/or the Gateway API CRDs (from cdk8s/crds, as a chart asset: too large for a
 * template) with the AWS Gateway API Controller, kube-prometheus-stack, and External Secrets. Each controller's
 * IRSA role gets exactly what it manages.
 */
export class PlatformAddons extends Construct {
  /** Every release, so the app's manifests can be applied after their CRDs and webhooks exist. */
  public readonly releases: eks.HelmChart[] = [];

  public constructor(scope: Construct, id: string, props: PlatformAddonsProps) {
    super(scope, id);
    const { cluster, profile } = props;
    const stack = Stack.of(this);
    const region = stack.region;
    const account = stack.account;
    const install = (
      addon: AddonChart,
      values: Record<string, unknown>,
      options: { skipCrds?: boolean } = {},
    ): eks.HelmChart => {
      const release = cluster.addHelmChart(addon.release, {
        ...options,
        chart: addon.chart,
        repository: addon.repository,
        version: pinnedVersion(addon),
        namespace: addon.namespace,
        release: addon.release,
        values: addonValues(addon, values),
        // The app's pods must not start before the sidecar and readiness-gate webhooks answer.
        wait: true,
        timeout: Duration.minutes(15),
      });
      this.releases.push(release);
      return release;
    };

    if (props.cloudMap && !uses(ADDONS.appMeshController, profile))
      throw new Error(`PlatformAddons: Cloud Map discovery needs App Mesh; profile '${profile}' has none`);
    if (uses(ADDONS.appMeshController, profile)) {
      const role = props.roles('appmesh-controller');
      grantAppMeshController(role, stack, props.cloudMap);
      const controller = install(ADDONS.appMeshController, {
        region,
        accountId: account,
        serviceAccount: { annotations: { [ROLE_ANNOTATION]: role.roleArn } },
      });
      // The VirtualNodes (applied after the releases) find their namespace from the start.
      if (props.cloudMap) controller.node.addDependency(props.cloudMap);
    }
    const externalDns = uses(ADDONS.externalDns, profile);
    if (externalDns && !props.latticeDns)
      throw new Error(
        `PlatformAddons: profile '${profile}' installs ExternalDNS; pass latticeDns (its zone)`,
      );
    if (uses(ADDONS.gatewayApiController, profile)) {
      const crds = cluster.addHelmChart('gateway-api-crds', {
        chartAsset: new s3assets.Asset(this, 'GatewayApiCrdsChart', { path: gatewayApiCrdsChart() }),
        namespace: 'kube-system',
        release: 'gateway-api-crds',
        createNamespace: false,
      });
      this.releases.push(crds);
      const role = props.roles('gateway-api-controller');
      grantGatewayApiController(role, stack);
      const controller = install(ADDONS.gatewayApiController, {
        awsRegion: region,
        awsAccountId: account,
        clusterName: cluster.clusterName,
        clusterVpcId: cluster.vpc.vpcId,
        serviceAccount: { annotations: { [ROLE_ANNOTATION]: role.roleArn } },
        // The controller writes a DNSEndpoint per HTTPRoute hostname only if this CRD exists when it starts.
        ...(externalDns
          ? {
              installExternalDNSCRD: true,
              deployment: { annotations: { [DNSENDPOINT_CRD_ANNOTATION]: 'installed' } },
            }
          : {}),
      });
      controller.node.addDependency(crds);
      if (externalDns && props.latticeDns) {
        const dns = props.latticeDns;
        const dnsRole = props.roles(EXTERNAL_DNS);
        grantExternalDns(dnsRole, dns);
        // After the controller: its release owns the DNSEndpoint CRD, which this chart's crds/ would also create.
        const release = install(
          ADDONS.externalDns,
          {
            txtOwnerId: cluster.clusterName,
            domainFilters: [dns.domain],
            extraArgs: { 'zone-id-filter': dns.zone.hostedZoneId },
            env: [{ name: 'AWS_DEFAULT_REGION', value: region }],
            serviceAccount: { name: EXTERNAL_DNS, annotations: { [ROLE_ANNOTATION]: dnsRole.roleArn } },
          },
          { skipCrds: true },
        );
        release.node.addDependency(controller);
      }
    }
    install(ADDONS.kubePrometheusStack, {});
    install(EXTERNAL_SECRETS, {});
  }
}

/**
 * The App Mesh controller manages the one mesh and what is in it. With Cloud Map discovery it also manages the Cloud
 * Map services and instances of the one namespace (appMeshCloudMapStatements); with DNS discovery it gets no Cloud Map
 * or Route 53 right at all.
 */
function grantAppMeshController(role: iam.Role, stack: Stack, cloudMap?: CloudMapNamespace): void {
  const mesh = stack.formatArn({ service: 'appmesh', resource: 'mesh', resourceName: MESH_NAME });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ManageTheMeshmartMesh',
      actions: ['Create', 'Describe', 'Update', 'Delete', 'List'].map((verb) => `appmesh:${verb}*`),
      resources: [mesh, `${mesh}/*`],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid: 'FindTheMesh', actions: ['appmesh:ListMeshes'], resources: ['*'] }),
  );
  role.addToPrincipalPolicy(serviceLinkedRole(stack, 'appmesh.amazonaws.com', 'AWSServiceRoleForAppMesh'));
  const services = stack.formatArn({ service: 'servicediscovery', resource: 'service', resourceName: '*' });
  if (cloudMap)
    addStatements(
      role,
      appMeshCloudMapStatements({
        namespaceArn: cloudMap.namespaceArn,
        servicesArn: services,
        ...(cloudMap.hostedZoneArn ? { hostedZoneArn: cloudMap.hostedZoneArn } : {}),
      }),
    );
  const verbs =
    'Create, Describe, Update, Delete and List actions of the controller, on the meshmart mesh and its children only';
  acknowledge(role, {
    ...Object.fromEntries(
      ['Create', 'Describe', 'Update', 'Delete', 'List'].map((v) => [
        `AwsSolutions-IAM5[Action::appmesh:${v}*]`,
        verbs,
      ]),
    ),
    [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:appmesh:${stack.region}:${stack.account}:mesh/${MESH_NAME}/*]`]:
      'Virtual nodes, routers, services and gateways of the meshmart mesh are created by the controller as the manifests change.',
    'AwsSolutions-IAM5[Resource::*]': cloudMap
      ? 'appmesh:ListMeshes, servicediscovery:ListNamespaces and servicediscovery:ListServices have no resource-level permission; nothing else is on *.'
      : 'appmesh:ListMeshes has no resource-level permission; it is the only action on *.',
    ...(cloudMap
      ? {
          [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:servicediscovery:${stack.region}:${stack.account}:service/*]`]:
            'Cloud Map service ids (srv-...) are generated when the controller creates a service in the namespace, so they cannot be named here; CreateService itself is limited to the one namespace.',
        }
      : {}),
  });
}

/** ExternalDNS may change the records of the Lattice zone, and of no other zone. */
function grantExternalDns(role: iam.Role, dns: LatticeDns): void {
  addStatements(role, externalDnsStatements(dns.zone.hostedZoneArn));
  acknowledge(role, {
    'AwsSolutions-IAM5[Resource::*]':
      'route53:ListHostedZones has no resource-level permission; ExternalDNS lists the zones to find the Lattice one, and may change only that one.',
  });
}

function addStatements(role: iam.Role, statements: readonly StatementJson[]): void {
  for (const st of statements) role.addToPrincipalPolicy(iam.PolicyStatement.fromJson(st));
}

/**
 * The controller's recommended inline policy without the access-log delivery rights (no AccessLogPolicy is
 * rendered): Lattice resources carry generated ids, so its actions cannot be scoped to ARNs known here.
 */
function grantGatewayApiController(role: iam.Role, stack: Stack): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ManageLattice',
      actions: [
        'vpc-lattice:*',
        'ec2:DescribeVpcs',
        'ec2:DescribeSubnets',
        'ec2:DescribeTags',
        'ec2:DescribeSecurityGroups',
        'tag:GetResources',
        'tag:TagResources',
        'tag:UntagResources',
        'acm:ListCertificates',
      ],
      resources: ['*'],
    }),
  );
  role.addToPrincipalPolicy(
    serviceLinkedRole(stack, 'vpc-lattice.amazonaws.com', 'AWSServiceRoleForVpcLattice'),
  );
  const reason =
    "The AWS Gateway API Controller's documented policy: it creates Lattice services, target groups and policies whose ids are generated, and the EC2/tag/ACM reads have no resource-level permissions.";
  acknowledge(role, {
    'AwsSolutions-IAM5[Action::vpc-lattice:*]': reason,
    'AwsSolutions-IAM5[Resource::*]': reason,
  });
}

function serviceLinkedRole(stack: Stack, service: string, name: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'CreateServiceLinkedRole',
    actions: ['iam:CreateServiceLinkedRole'],
    resources: [
      stack.formatArn({
        service: 'iam',
        region: '',
        resource: 'role',
        resourceName: `aws-service-role/${service}/${name}`,
      }),
    ],
    conditions: { StringLike: { 'iam:AWSServiceName': service } },
  });
}

const gatewayApiCrdsDir = fileURLToPath(new URL('../../../cdk8s/crds/gateway-api/', import.meta.url));

/**
 * A local Helm chart whose templates are the vendored Gateway API CRDs (byte-for-byte, cdk8s/crds/SOURCES.md), in a
 * folder named by its content hash; the chart goes to the cluster as an S3 asset, not through the template.
 */
export function gatewayApiCrdsChart(): string {
  const files = readdirSync(gatewayApiCrdsDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const first = readFileSync(join(gatewayApiCrdsDir, files[0]), 'utf8');
  const bundle = /gateway\.networking\.k8s\.io\/bundle-version: v?(\S+)/.exec(first)?.[1];
  if (!bundle)
    throw new Error(
      `gatewayApiCrdsChart: no bundle-version annotation in ${files[0]}; re-vendor with make crds`,
    );
  const chartYaml =
    'apiVersion: v2\nname: gateway-api-crds\n' +
    `description: Gateway API CRDs, standard channel, as vendored in cdk8s/crds/gateway-api\n` +
    `type: application\nversion: ${bundle}\nappVersion: v${bundle}\n`;
  const hash = createHash('sha256').update(chartYaml);
  for (const f of files) hash.update(f).update(readFileSync(join(gatewayApiCrdsDir, f)));
  const dir = join(tmpdir(), `meshmart-gateway-api-crds-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(join(dir, 'Chart.yaml'))) {
    mkdirSync(join(dir, 'templates'), { recursive: true });
    for (const f of files) copyFileSync(join(gatewayApiCrdsDir, f), join(dir, 'templates', f));
    writeFileSync(join(dir, 'Chart.yaml'), chartYaml);
  }
  return dir;
}
