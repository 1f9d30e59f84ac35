import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { CONFIG_SHA256_ANNOTATION } from '@meshmart/mesh/names.ts';
import { resourceRequirements, restrictedContainerSecurityContext } from '../pod-spec.ts';
import { componentLabels, configVolume, scratch } from './workload.ts';

/** Fluentd 1.19 with the CloudWatch Logs output, parser-cri, concat and kubernetes_metadata plugins. */
export const FLUENTD_IMAGE = 'fluent/fluentd-kubernetes-daemonset:v1.19.0-debian-cloudwatch-1.0';
/** The non-root uid Fluentd runs as; it reads the root-owned 0640 log files through group 0. */
export const FLUENTD_UID = 10001;

/** A file of observability/fluentd/. */
export function fluentdFile(name: string): string {
  return readFileSync(new URL(`../../../observability/fluentd/${name}`, import.meta.url), 'utf8');
}

export interface FluentdProps {
  readonly namespace: string;
  /** kind: stdout (kind.conf). EKS: CloudWatch Logs (fluent.conf) with this IRSA role, region and cluster name. */
  readonly cloudwatch?: { readonly roleArn: string; readonly region: string; readonly clusterName: string };
}

/**
 * Fluentd as a DaemonSet reading every container log of its node (hostPath /var/log, read-only). hostPath volumes
 * are outside Pod Security "baseline", so its namespace enforces "privileged"; the container itself is still
 * non-root, read-only, without capabilities. It reads the API server for pod metadata (a ClusterRole).
 */
export function fluentd(scope: Construct, p: FluentdProps): void {
  const name = 'fluentd';
  const { selector, all } = componentLabels(name, FLUENTD_IMAGE);
  const main = fluentdFile(p.cloudwatch ? 'fluent.conf' : 'kind.conf');
  const pipeline = fluentdFile('containers.conf');
  new k8s.KubeConfigMap(scope, 'FluentdConfig', {
    metadata: { name: 'fluentd-config', namespace: p.namespace, labels: all },
    data: { 'fluent.conf': main, 'containers.conf': pipeline },
  });
  new k8s.KubeServiceAccount(scope, 'FluentdServiceAccount', {
    metadata: {
      name,
      namespace: p.namespace,
      labels: all,
      ...(p.cloudwatch ? { annotations: { 'eks.amazonaws.com/role-arn': p.cloudwatch.roleArn } } : {}),
    },
  });
  new k8s.KubeClusterRole(scope, 'FluentdClusterRole', {
    metadata: { name: 'meshmart-fluentd', labels: all },
    rules: [{ apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] }],
  });
  new k8s.KubeClusterRoleBinding(scope, 'FluentdClusterRoleBinding', {
    metadata: { name: 'meshmart-fluentd', labels: all },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'meshmart-fluentd' },
    subjects: [{ kind: 'ServiceAccount', name, namespace: p.namespace }],
  });
  const conf = configVolume('config', 'fluentd-config', '/fluentd/etc');
  const state = scratch('state', '/var/fluentd', '1Gi');
  const tmp = scratch('tmp', '/tmp', '64Mi');
  const probe = (initialDelaySeconds: number): k8s.Probe => ({
    httpGet: { path: '/api/plugins.json', port: k8s.IntOrString.fromString('monitor') },
    initialDelaySeconds,
    periodSeconds: 20,
    timeoutSeconds: 3,
    failureThreshold: 3,
  });
  const env = [
    { name: 'FLUENTD_CONF', value: 'fluent.conf' },
    ...(p.cloudwatch
      ? [
          { name: 'AWS_REGION', value: p.cloudwatch.region },
          { name: 'CLUSTER_NAME', value: p.cloudwatch.clusterName },
        ]
      : []),
  ];
  new k8s.KubeDaemonSet(scope, 'FluentdDaemonSet', {
    metadata: { name, namespace: p.namespace, labels: all },
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) },
      },
      template: {
        metadata: {
          labels: all,
          annotations: {
            [CONFIG_SHA256_ANNOTATION]: createHash('sha256')
              .update(main + pipeline)
              .digest('hex')
              .slice(0, 16),
          },
        },
        spec: {
          serviceAccountName: name,
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          priorityClassName: 'system-node-critical',
          tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
          securityContext: {
            runAsNonRoot: true,
            runAsUser: FLUENTD_UID,
            runAsGroup: FLUENTD_UID,
            fsGroup: FLUENTD_UID,
            // Container log files are root:root 0640: group 0 reads them without running as root.
            supplementalGroups: [0],
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name,
              image: FLUENTD_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              env,
              ports: [{ name: 'monitor', containerPort: 24220, protocol: 'TCP' }],
              resources: resourceRequirements({
                requests: { cpu: '50m', memory: '128Mi' },
                limits: { cpu: '500m', memory: '512Mi' },
              }),
              readinessProbe: probe(10),
              livenessProbe: probe(60),
              securityContext: {
                ...restrictedContainerSecurityContext(),
                runAsUser: FLUENTD_UID,
                runAsGroup: FLUENTD_UID,
              },
              volumeMounts: [
                conf.mount,
                state.mount,
                tmp.mount,
                // /var/log/containers holds symlinks into /var/log/pods: both are read.
                { name: 'varlog', mountPath: '/var/log', readOnly: true },
              ],
            },
          ],
          volumes: [
            conf.volume,
            state.volume,
            tmp.volume,
            { name: 'varlog', hostPath: { path: '/var/log', type: 'Directory' } },
          ],
        },
      },
    },
  });
}
