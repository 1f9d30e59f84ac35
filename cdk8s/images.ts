import { ApiObject, JsonPatch } from 'cdk8s';
import type { Construct } from 'constructs';
import type { ImagesConfig } from './config.ts';

/**
 * The image a container runs once the profile's image settings apply: an exact override as it is, else the image
 * under the registry prefix (its own registry host, if it names one, replaced), else the image unchanged.
 */
export function resolveImage(images: ImagesConfig | undefined, image: string): string {
  const override = images?.overrides?.[image];
  if (override !== undefined) return override;
  if (!images?.registry) return image;
  const slash = image.indexOf('/');
  const first = slash === -1 ? '' : image.slice(0, slash);
  // A first path component with a dot or a port, or `localhost`, is a registry host (the Docker reference grammar).
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  return `${images.registry}/${hasRegistry ? image.slice(slash + 1) : image}`;
}

/** Where each kind keeps its pod spec. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

interface Container {
  readonly image?: string;
}

/**
 * Rewrites the image of every container and init container under `scope` (a profile's app) with `resolveImage`. The
 * objects keep their labels: `app.kubernetes.io/version` still names the version the profile pins. Adds nothing when
 * no image setting is given, so the manifests stay byte-identical.
 */
export function applyImageSettings(scope: Construct, images: ImagesConfig | undefined): void {
  if (!images?.registry && Object.keys(images?.overrides ?? {}).length === 0) return;
  for (const node of scope.node.findAll()) {
    if (!ApiObject.isApiObject(node)) continue;
    const path = POD_SPEC_PATHS[node.kind];
    if (!path) continue;
    let spec: unknown = node.toJson();
    for (const key of path) spec = (spec as Record<string, unknown> | undefined)?.[key];
    if (!spec) continue;
    for (const field of ['initContainers', 'containers'] as const) {
      const containers = (spec as Record<string, readonly Container[] | undefined>)[field] ?? [];
      containers.forEach((c, i) => {
        if (c.image === undefined) return;
        const image = resolveImage(images, c.image);
        if (image !== c.image)
          node.addJsonPatch(JsonPatch.replace(`/${[...path, field, i, 'image'].join('/')}`, image));
      });
    }
  }
}
