/** A dashboard as data: what the generator turns into Grafana JSON and what the live test sends to Prometheus. */
export type Viz = 'timeseries' | 'stat';

export interface QueryDef {
  readonly expr: string;
  /** Grafana legend template, e.g. '{{service}}'. */
  readonly legend?: string;
}

export interface PanelDef {
  readonly title: string;
  readonly viz: Viz;
  readonly queries: readonly QueryDef[];
  readonly description?: string;
  /** Grafana unit id (reqps, s, percentunit, short, bytes…). */
  readonly unit?: string;
  /** Width in grid columns (24 per row). @default 8 */
  readonly width?: number;
  readonly min?: number;
  readonly max?: number;
}

export interface RowDef {
  readonly title: string;
  readonly panels: readonly PanelDef[];
}

export interface VariableDef {
  readonly name: string;
  readonly label: string;
  /** A `label_values(...)` query. */
  readonly query: string;
  /** What "All" stands for in a regex match. */
  readonly allValue: string;
}

export interface DashboardDef {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly variables?: readonly VariableDef[];
  readonly rows: readonly RowDef[];
  /** @default 'now-1h' */
  readonly from?: string;
}

/** Prometheus data source variable every panel reads through, so one JSON fits kind and kube-prometheus-stack. */
export const DATASOURCE_VARIABLE = 'datasource';

/** The tag every MeshMart dashboard carries first. */
export const TAGS = ['meshmart'];
