import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { COMPONENT_LABEL, PART_OF, PART_OF_LABEL, NAME_LABEL, VERSION_LABEL } from '@meshmart/mesh/names.ts';
import {
  resourceRequirements,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  type ContainerResources,
} from './pod-spec.ts';

export interface DatastoreProps {
  /** StatefulSet and headless Service name; also the DNS name. */
  readonly name: string;
  /** Pass `namespace.name`. */
  readonly namespace: string;
  /** Official image pinned by an exact version tag (never latest). */
  readonly image: string;
  readonly port: number;
  /** Where the PersistentVolumeClaim is mounted. */
  readonly dataPath: string;
  /** Size of the volume claimed per replica. @default '1Gi' */
  readonly storage?: string;
  /** StorageClass of the claim. @default the cluster default */
  readonly storageClassName?: string;
  /** uid the image's own user has (the official images use 999). */
  readonly runAsUser: number;
  /** @default the image's CMD */
  readonly args?: readonly string[];
  /** Readiness check run in the container. */
  readonly readinessCommand: readonly string[];
  readonly resources: ContainerResources;
  /** Extra writable emptyDir mounts (the root filesystem is read-only). @default ['/tmp'] */
  readonly scratchPaths?: readonly string[];
}

/** A single-replica StatefulSet with a PersistentVolumeClaim and a headless Service: kind's datastores. */
export class Datastore extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly port: number;
  /** In-cluster DNS name of the first (only) pod's Service. */
  public readonly host: string;

  public constructor(scope: Construct, id: string, props: DatastoreProps) {
    super(scope, id);
    const tag = props.image.split(':')[1] ?? '';
    if (!/^\d+\.\d+\.\d+/.test(tag))
      throw new Error(
        `Datastore ${props.name}: image '${props.image}' must be pinned to an exact version (x.y.z)`,
      );
    this.name = props.name;
    this.namespace = props.namespace;
    this.port = props.port;
    this.host = `${props.name}.${props.namespace}.svc.cluster.local`;
    const selector = { [NAME_LABEL]: props.name, [PART_OF_LABEL]: PART_OF };
    const labels = { ...selector, [COMPONENT_LABEL]: 'datastore', [VERSION_LABEL]: tag };
    const scratch = props.scratchPaths ?? ['/tmp'];

    new k8s.KubeService(this, 'Service', {
      metadata: { name: props.name, namespace: props.namespace, labels },
      spec: {
        clusterIp: 'None',
        selector,
        ports: [
          { name: 'tcp', port: props.port, targetPort: k8s.IntOrString.fromString('tcp'), protocol: 'TCP' },
        ],
      },
    });
    new k8s.KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name: props.name, namespace: props.namespace, labels },
      spec: {
        serviceName: props.name,
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 30,
            securityContext: restrictedPodSecurityContext(props.runAsUser),
            containers: [
              {
                name: props.name,
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                ...(props.args ? { args: [...props.args] } : {}),
                ports: [{ name: 'tcp', containerPort: props.port, protocol: 'TCP' }],
                resources: resourceRequirements(props.resources),
                readinessProbe: {
                  exec: { command: [...props.readinessCommand] },
                  periodSeconds: 10,
                  timeoutSeconds: 5,
                  failureThreshold: 3,
                },
                livenessProbe: {
                  tcpSocket: { port: k8s.IntOrString.fromString('tcp') },
                  initialDelaySeconds: 15,
                  periodSeconds: 20,
                  failureThreshold: 3,
                },
                securityContext: {
                  ...restrictedContainerSecurityContext(),
                  runAsUser: props.runAsUser,
                  runAsGroup: props.runAsUser,
                },
                volumeMounts: [
                  { name: 'data', mountPath: props.dataPath },
                  ...scratch.map((path, i) => ({ name: `scratch-${i}`, mountPath: path })),
                ],
              },
            ],
            volumes: scratch.map((_path, i) => ({ name: `scratch-${i}`, emptyDir: {} })),
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: selector },
            spec: {
              accessModes: ['ReadWriteOnce'],
              ...(props.storageClassName ? { storageClassName: props.storageClassName } : {}),
              resources: { requests: { storage: k8s.Quantity.fromString(props.storage ?? '1Gi') } },
            },
          },
        ],
      },
    });
  }
}

/** MongoDB 7.0 (official image) as kind's document store. */
export const MONGO_IMAGE = 'mongo:7.0.14';
/** Redis 7.2 (official image) as kind's cache and event bus. */
export const REDIS_IMAGE = 'redis:7.2.5';

export function mongoDb(scope: Construct, namespace: string): Datastore {
  return new Datastore(scope, 'MongoDb', {
    name: 'mongodb',
    namespace,
    image: MONGO_IMAGE,
    port: 27017,
    dataPath: '/data/db',
    storage: '2Gi',
    runAsUser: 999,
    args: ['mongod', '--bind_ip_all', '--wiredTigerCacheSizeGB', '0.25'],
    readinessCommand: ['mongosh', '--quiet', '--eval', "db.adminCommand('ping').ok"],
    resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
    scratchPaths: ['/tmp', '/data/configdb'],
  });
}

export function redis(scope: Construct, namespace: string): Datastore {
  return new Datastore(scope, 'Redis', {
    name: 'redis',
    namespace,
    image: REDIS_IMAGE,
    port: 6379,
    dataPath: '/data',
    storage: '1Gi',
    runAsUser: 999,
    args: [
      'redis-server',
      '--appendonly',
      'yes',
      '--protected-mode',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    readinessCommand: ['redis-cli', 'ping'],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  });
}
