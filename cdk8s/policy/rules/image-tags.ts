import { describe, type PolicyRule, type Violation } from '../types.ts';
import { allContainers, workloads } from '../workloads.ts';

/** The tag of an image reference, '' when untagged; digests count as pinned. */
export function imagePin(image: string): { tag: string; digest: boolean } {
  const [name, digest] = image.split('@');
  const last = (name ?? '').split('/').pop() ?? '';
  const colon = last.indexOf(':');
  return { tag: colon === -1 ? '' : last.slice(colon + 1), digest: digest !== undefined };
}

export const imageTagsRule: PolicyRule = {
  id: 'image-tags',
  description: 'every image is pinned by a version tag or digest, never latest or untagged',
  check(objects) {
    const out: Violation[] = [];
    for (const w of workloads(objects)) {
      for (const c of allContainers(w.pod)) {
        const image = c.image ?? '';
        const { tag, digest } = imagePin(image);
        if (digest) continue;
        if (tag === '' || tag === 'latest')
          out.push({
            rule: this.id,
            object: describe(w.object),
            message: `container ${c.name} image '${image}' is ${tag === '' ? 'untagged' : "tagged 'latest'"}; pin a version`,
          });
      }
    }
    return out;
  },
};
