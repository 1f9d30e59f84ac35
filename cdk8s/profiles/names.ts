/** The profiles, in the order `make synth` writes them; apart from index.ts so tools can list them without cdk8s. */
export const PROFILE_NAMES = ['kind', 'eks-appmesh', 'eks-lattice', 'migration'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];
