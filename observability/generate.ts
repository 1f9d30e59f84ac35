import { relative } from 'node:path';
import { OBSERVABILITY_DIR, writeGeneratedFiles } from './files.ts';

// Writes observability/prometheus/rules/*.yaml and observability/grafana/dashboards/*.json from the TypeScript sources.
const written = await writeGeneratedFiles();
for (const path of written)
  process.stdout.write(`wrote observability/${relative(OBSERVABILITY_DIR, path)}\n`);
