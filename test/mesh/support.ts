import { Testing, type Chart } from 'cdk8s';

export type Manifest = Record<string, any>;

/** A fresh chart in a fresh App, with the synthesized objects once `render` has filled it. */
export function synth(render: (chart: Chart) => void): Manifest[] {
  const chart = Testing.chart();
  render(chart);
  return Testing.synth(chart) as Manifest[];
}

export function find(objects: readonly Manifest[], kind: string, name: string): Manifest {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found)
    throw new Error(
      `no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`,
    );
  return found;
}

export function ofKind(objects: readonly Manifest[], kind: string): Manifest[] {
  return objects.filter((o) => o.kind === kind);
}

export const principal = (service: string): string => `arn:aws:iam::111122223333:role/meshmart-${service}`;
