import { kitMetrics } from '@meshmart/kit/metric-declarations';
import { TAGS, type DashboardDef } from '../model.ts';
import { quantile, rate } from '../queries.ts';

export function eventsDashboard(): DashboardDef {
  return {
    uid: 'meshmart-events',
    title: 'MeshMart / Events',
    description: 'Redis Streams event bus: publishing, consumption, lag, dead letters and redrives.',
    tags: [...TAGS, 'events'],
    rows: [
      {
        title: 'Flow',
        panels: [
          {
            title: 'Published per second by topic',
            viz: 'timeseries',
            unit: 'short',
            queries: [{ expr: rate(kitMetrics.eventsPublished.name, '', 'topic'), legend: '{{topic}}' }],
          },
          {
            title: 'Deliveries per second by group and outcome',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: rate(kitMetrics.eventsConsumed.name, '', 'group, outcome'),
                legend: '{{group}} {{outcome}}',
              },
            ],
          },
          {
            title: 'Consumer lag growth (published - finished, 5m)',
            description:
              'No bus exposes a lag gauge: this is what a topic received minus what each group finished (ok or dead-lettered).',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr:
                  `sum by (topic) (increase(${kitMetrics.eventsPublished.name}[5m])) - on (topic) group_right () ` +
                  `sum by (topic, group) (increase(${kitMetrics.eventsConsumed.name}{outcome=~"ok|dead_letter"}[5m]))`,
                legend: '{{topic}} → {{group}}',
              },
            ],
          },
          {
            title: 'Handler duration p99 by group',
            viz: 'timeseries',
            unit: 's',
            queries: [
              { expr: quantile(0.99, kitMetrics.eventHandlerDuration, '', 'group'), legend: '{{group}}' },
            ],
          },
        ],
      },
      {
        title: 'Failures',
        panels: [
          {
            title: 'Dead letters (last 10m) by topic and group',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: `sum by (topic, group) (increase(${kitMetrics.eventsDeadLettered.name}[10m]))`,
                legend: '{{topic}} {{group}}',
              },
            ],
          },
          {
            title: 'Dead letters total',
            viz: 'stat',
            unit: 'short',
            queries: [
              { expr: `sum by (topic) (${kitMetrics.eventsDeadLettered.name})`, legend: '{{topic}}' },
            ],
          },
          {
            title: 'Redrives per second by topic',
            viz: 'timeseries',
            unit: 'short',
            queries: [{ expr: rate(kitMetrics.eventsRedriven.name, '', 'topic'), legend: '{{topic}}' }],
          },
          {
            title: 'Retried deliveries share by group',
            viz: 'timeseries',
            unit: 'percentunit',
            queries: [
              {
                expr: `(${rate(kitMetrics.eventsConsumed.name, 'outcome="retry"', 'group')} or ${rate(kitMetrics.eventsConsumed.name, '', 'group')} * 0) / ${rate(kitMetrics.eventsConsumed.name, '', 'group')}`,
                legend: '{{group}}',
              },
            ],
          },
        ],
      },
    ],
  };
}
