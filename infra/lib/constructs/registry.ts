import { RemovalPolicy } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';

export interface RegistryProps {
  /** Repository names, e.g. `meshmart/services`: one per image the manifests pull from this account's ECR. */
  readonly repositories: readonly string[];
  /** Production keeps the repositories (and their images) when the stack is deleted. @default false */
  readonly retain?: boolean;
  /** Images kept per repository; older ones expire. @default 30 */
  readonly keepImages?: number;
}

/**
 * One private ECR repository per image: basic scanning on every push, immutable tags (a version is never
 * overwritten), AES-256 encryption at rest, and a lifecycle rule that keeps storage bounded.
 */
export class Registry extends Construct {
  public readonly repositories: ReadonlyMap<string, ecr.Repository>;

  public constructor(scope: Construct, id: string, props: RegistryProps) {
    super(scope, id);
    if (props.repositories.length === 0)
      throw new Error(`Registry ${id}: no repositories; the manifests name no image in this account's ECR`);
    const repositories = new Map<string, ecr.Repository>();
    for (const name of [...props.repositories].sort()) {
      repositories.set(
        name,
        new ecr.Repository(this, name.replace(/[^A-Za-z0-9]/g, '-'), {
          repositoryName: name,
          imageScanOnPush: true,
          imageTagMutability: ecr.TagMutability.IMMUTABLE,
          encryption: ecr.RepositoryEncryption.AES_256,
          lifecycleRules: [{ description: 'bounded storage', maxImageCount: props.keepImages ?? 30 }],
          removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
          emptyOnDelete: !props.retain,
        }),
      );
    }
    this.repositories = repositories;
  }
}
