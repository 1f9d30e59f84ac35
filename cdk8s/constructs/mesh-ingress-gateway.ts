import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { COMPONENT_LABEL, NAME_LABEL, PART_OF, PART_OF_LABEL, VERSION_LABEL } from '@meshmart/mesh/names.ts';
import {
  resourceRequirements,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
} from './pod-spec.ts';

/** The App Mesh Envoy image; the controller swaps in its configured sidecar image at admission. */
export const APPMESH_ENVOY_IMAGE = 'public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.12.1-prod';
/** uid the App Mesh Envoy image runs as. */
const ENVOY_UID = 1337;

export interface MeshIngressGatewayProps {
  /** Must equal the VirtualGateway's podSelector name (renderAppMesh's ingressGatewayName). */
  readonly name: string;
  /** Pass `namespace.name`. */
  readonly namespace: string;
  /** Port Envoy listens on (the VirtualGateway listener). */
  readonly port: number;
  /** @default 2 */
  readonly replicas?: number;
  /** @default APPMESH_ENVOY_IMAGE */
  readonly image?: string;
  /** Port of the internet-facing load balancer. @default 80 */
  readonly publicPort?: number;
  /** IRSA role Envoy reads its VirtualGateway's configuration with. @default none: the node's role */
  readonly roleArn?: string;
}

/**
 * The Envoy Deployment behind an App Mesh VirtualGateway, with a PDB and an internet-facing NLB Service (AWS Load
 * Balancer Controller annotations). App Mesh only configures a VirtualGateway; its pods are ours to run.
 */
export class MeshIngressGateway extends Construct {
  public readonly name: string;
  public readonly port: number;

  public constructor(scope: Construct, id: string, props: MeshIngressGatewayProps) {
    super(scope, id);
    const replicas = props.replicas ?? 2;
    if (!Number.isInteger(replicas) || replicas < 1)
      throw new Error(
        `MeshIngressGateway ${props.name}: replicas must be an integer >= 1; set replicas to 1 or more`,
      );
    if (props.port < 1024)
      throw new Error(`MeshIngressGateway ${props.name}: port ${props.port} needs root; use a port >= 1024`);
    this.name = props.name;
    this.port = props.port;
    const image = props.image ?? APPMESH_ENVOY_IMAGE;
    const selector = { [NAME_LABEL]: props.name, [PART_OF_LABEL]: PART_OF };
    const labels = {
      ...selector,
      [COMPONENT_LABEL]: 'ingress-gateway',
      [VERSION_LABEL]: image.split(':').pop()!,
    };
    const tcp = { tcpSocket: { port: k8s.IntOrString.fromString('http') } };

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels,
        ...(props.roleArn ? { annotations: { 'eks.amazonaws.com/role-arn': props.roleArn } } : {}),
      },
      automountServiceAccountToken: false,
    });
    new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: props.name, namespace: props.namespace, labels },
      spec: {
        replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: props.name,
            automountServiceAccountToken: false,
            securityContext: restrictedPodSecurityContext(ENVOY_UID),
            containers: [
              {
                name: 'envoy',
                image,
                imagePullPolicy: 'IfNotPresent',
                ports: [{ name: 'http', containerPort: props.port, protocol: 'TCP' }],
                resources: resourceRequirements({
                  requests: { cpu: '100m', memory: '128Mi' },
                  limits: { cpu: '1', memory: '512Mi' },
                }),
                readinessProbe: { ...tcp, periodSeconds: 5, failureThreshold: 2 },
                livenessProbe: { ...tcp, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
                securityContext: {
                  ...restrictedContainerSecurityContext(),
                  runAsUser: ENVOY_UID,
                  runAsGroup: ENVOY_UID,
                },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: {} }],
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'topology.kubernetes.io/zone',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: selector },
              },
            ],
          },
        },
      },
    });
    if (replicas > 1) {
      new k8s.KubePodDisruptionBudget(this, 'Pdb', {
        metadata: { name: props.name, namespace: props.namespace, labels },
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
      });
    }
    new k8s.KubeService(this, 'Service', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels,
        annotations: publicLoadBalancerAnnotations(),
      },
      spec: {
        type: 'LoadBalancer',
        selector,
        ports: [
          {
            name: 'http',
            port: props.publicPort ?? 80,
            targetPort: k8s.IntOrString.fromString('http'),
            protocol: 'TCP',
          },
        ],
      },
    });
  }
}

/** AWS Load Balancer Controller: an internet-facing NLB sending straight to pod IPs. */
export function publicLoadBalancerAnnotations(): Record<string, string> {
  return {
    'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
    'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
    'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
  };
}
