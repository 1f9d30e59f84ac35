import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { dashboardDefs } from './definitions.ts';
import { DATASOURCE_VARIABLE, type DashboardDef, type PanelDef } from './model.ts';

export interface GeneratedDashboard {
  readonly uid: string;
  readonly title: string;
  /** `<uid>.json`, the file under observability/grafana/dashboards/ and the ConfigMap key. */
  readonly fileName: string;
  readonly json: Record<string, unknown>;
}

const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };
const PANEL_HEIGHT = 8;
const ROW_HEIGHT = 1;

function panel(def: PanelDef, x: number, y: number, id: number): TimeseriesBuilder | StatBuilder {
  const width = def.width ?? 8;
  const b = def.viz === 'stat' ? new StatBuilder() : new TimeseriesBuilder().fillOpacity(10).lineWidth(1);
  b.id(id)
    .title(def.title)
    .datasource(DATASOURCE)
    .gridPos({ x, y, w: width, h: PANEL_HEIGHT })
    .unit(def.unit ?? 'short');
  if (def.description) b.description(def.description);
  if (def.min !== undefined) b.min(def.min);
  if (def.max !== undefined) b.max(def.max);
  def.queries.forEach((q, i) => {
    const t = new DataqueryBuilder()
      .expr(q.expr)
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE);
    if (q.legend) t.legendFormat(q.legend);
    b.withTarget(t);
  });
  return b;
}

/** Builds one dashboard with the foundation SDK, laying panels out left to right under their row. */
export function buildDashboard(def: DashboardDef): Record<string, unknown> {
  const d = new DashboardBuilder(def.title)
    .uid(def.uid)
    .description(def.description)
    .tags([...def.tags])
    .editable()
    .refresh('30s')
    .time({ from: def.from ?? 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder(DATASOURCE_VARIABLE).label('Data source').type('prometheus'));
  for (const v of def.variables ?? []) {
    d.withVariable(
      new QueryVariableBuilder(v.name)
        .label(v.label)
        .datasource(DATASOURCE)
        .query(v.query)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue(v.allValue)
        .current({ text: 'All', value: '$__all' }),
    );
  }
  let y = 0;
  let id = 1;
  for (const row of def.rows) {
    d.withRow(new RowBuilder(row.title).id(id++).gridPos({ x: 0, y, w: 24, h: ROW_HEIGHT }));
    y += ROW_HEIGHT;
    let x = 0;
    for (const p of row.panels) {
      const w = p.width ?? 8;
      if (x + w > 24) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      d.withPanel(panel(p, x, y, id++));
      x += w;
    }
    y += PANEL_HEIGHT;
  }
  return d.build() as unknown as Record<string, unknown>;
}

/** Every MeshMart dashboard as Grafana JSON (what the ConfigMaps and the kind provisioning carry). */
export function dashboards(): GeneratedDashboard[] {
  return dashboardDefs().map((def) => ({
    uid: def.uid,
    title: def.title,
    fileName: `${def.uid}.json`,
    json: buildDashboard(def),
  }));
}
