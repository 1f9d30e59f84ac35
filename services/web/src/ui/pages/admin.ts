/// <reference lib="dom" />
import { api, ApiError, type AuditPage, type AuditVerify, type Saga } from '../api.ts';
import {
  emptyState,
  errorState,
  inlineError,
  loading,
  pageHeader,
  price,
  statusBadge,
} from '../components.ts';
import { h, icon, mount, type Child } from '../dom.ts';
import { formatDateTime, shortId } from '../format.ts';
import type { PageContext } from '../page.ts';
import { paths, withQuery } from '../routes.ts';

const AUDIT_PAGE_SIZE = 25;

function adminTabs(active: 'audit' | 'sagas'): HTMLElement {
  return h(
    'nav',
    { class: 'tabs', 'aria-label': 'Admin' },
    h('a', { class: `tab${active === 'audit' ? ' active' : ''}`, href: paths.adminAudit() }, 'Audit log'),
    h('a', { class: `tab${active === 'sagas' ? ' active' : ''}`, href: paths.adminSagas() }, 'Sagas'),
  );
}

/** A link into the app for an audit resource: order/<id> opens the order, saga/<id> the saga. */
function resourceLink(resource: string): Node {
  const order = /^order\/(.+)$/.exec(resource);
  if (order) return h('a', { href: paths.order(order[1]) }, resource);
  const saga = /^saga\/(.+)$/.exec(resource);
  if (saga) return h('a', { href: paths.adminSaga(saga[1]) }, resource);
  return document.createTextNode(resource);
}

/** The event type, and for a user action what the user did (cart.add, checkout.start…). */
function actionCell(action: string, data: unknown): Child[] {
  const detail = data && typeof data === 'object' ? (data as Record<string, unknown>).action : undefined;
  return [
    h('span', { class: 'tag' }, action),
    typeof detail === 'string' ? h('span', { class: 'muted small action-detail' }, detail) : '',
  ];
}

export async function auditPage(ctx: PageContext): Promise<void> {
  ctx.title('Audit log');
  const actor = ctx.query.get('actor') ?? '';
  const resource = ctx.query.get('resource') ?? '';
  const cursor = (name: string): number | undefined => {
    const n = Number.parseInt(ctx.query.get(name) ?? '', 10);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  };
  const before = cursor('before');
  const after = before === undefined ? cursor('after') : undefined;
  const actorInput = h('input', { name: 'actor', value: actor, placeholder: 'alice or service:orders' });
  const resourceInput = h('input', { name: 'resource', value: resource, placeholder: 'order/<id>' });
  const verify = h('div', { class: 'verify', 'data-testid': 'verify' }, loading('Verifying the hash chain…'));
  const filters = h(
    'form',
    { class: 'filters', role: 'search' },
    h('label', null, 'Actor', actorInput),
    h('label', null, 'Resource', resourceInput),
    h('button', { class: 'btn', type: 'submit' }, icon('search', 16), 'Filter'),
    actor || resource ? h('a', { class: 'btn btn-ghost', href: paths.adminAudit() }, 'Clear') : null,
  );
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.navigate(paths.adminAudit({ actor: actorInput.value.trim(), resource: resourceInput.value.trim() }));
  });
  const list = h('div', null, loading('Loading audit records…'));
  mount(ctx.view, pageHeader('Administration'), adminTabs('audit'), verify, filters, list);

  const verifying = api.verifyAudit(ctx.signal).then(
    (v) => mount(verify, verifyBanner(v)),
    (err: unknown) => mount(verify, inlineError(err)),
  );
  try {
    const result = await api.audit(
      {
        actor: actor || undefined,
        resource: resource || undefined,
        ...(before !== undefined ? { before } : {}),
        ...(after !== undefined ? { after } : {}),
        limit: AUDIT_PAGE_SIZE,
      },
      ctx.signal,
    );
    if (result.items.length === 0) {
      mount(
        list,
        emptyState(
          'No audit records',
          actor || resource ? 'Nothing matches these filters.' : 'Nothing has happened yet.',
        ),
      );
    } else {
      mount(
        list,
        h(
          'div',
          { class: 'panel table-wrap' },
          h(
            'table',
            { class: 'table table-dense', 'data-testid': 'audit' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                h('th', { class: 'num' }, '#'),
                h('th', null, 'When'),
                h('th', null, 'Actor'),
                h('th', null, 'Action'),
                h('th', null, 'Resource'),
                h('th', null, 'Hash'),
              ),
            ),
            h(
              'tbody',
              null,
              result.items.map((r) =>
                h(
                  'tr',
                  { 'data-seq': r.seq },
                  h('td', { class: 'num' }, String(r.seq)),
                  h('td', { class: 'nowrap' }, formatDateTime(r.at)),
                  h('td', null, h('a', { href: paths.adminAudit({ actor: r.actor }) }, r.actor)),
                  h('td', null, actionCell(r.action, r.data)),
                  h('td', null, resourceLink(r.resource)),
                  h('td', null, h('code', { class: 'hash', title: r.hash }, r.hash.slice(0, 10))),
                ),
              ),
            ),
          ),
        ),
        cursorPagination(result, { actor, resource }),
      );
    }
  } catch (err) {
    mount(list, errorState(err, h('a', { class: 'btn', href: paths.adminAudit() }, 'Try again')));
  }
  await verifying;
}

/** Newest / newer / older by seq: a page read by its cursor stays the same however many records arrive meanwhile. */
function cursorPagination(page: AuditPage, filters: { actor: string; resource: string }): HTMLElement | null {
  if (page.newer === undefined && page.older === undefined) return null;
  const link = (label: string, rel: string, href: string | undefined) =>
    href
      ? h('a', { class: 'page-link', href, rel, 'data-testid': `audit-${rel}` }, label)
      : h('span', { class: 'page-link disabled' }, label);
  const base = { actor: filters.actor || undefined, resource: filters.resource || undefined };
  return h(
    'nav',
    { class: 'pagination', 'aria-label': 'Pages' },
    link('« Newest', 'first', page.newer !== undefined ? paths.adminAudit(base) : undefined),
    link(
      '‹ Newer',
      'prev',
      page.newer !== undefined ? paths.adminAudit({ ...base, after: page.newer }) : undefined,
    ),
    link(
      'Older ›',
      'next',
      page.older !== undefined ? paths.adminAudit({ ...base, before: page.older }) : undefined,
    ),
  );
}

function verifyBanner(v: AuditVerify): HTMLElement {
  if (v.ok) {
    return h(
      'div',
      { class: 'alert alert-ok', 'data-ok': 'true' },
      icon('shield', 20),
      h(
        'div',
        null,
        h('strong', null, 'Chain verified'),
        h(
          'div',
          null,
          `All ${v.records} records are intact: every hash matches and links to the one before.`,
        ),
      ),
    );
  }
  const bad = v.firstInvalid;
  return h(
    'div',
    { class: 'alert alert-error', 'data-ok': 'false', role: 'alert' },
    icon('alert', 20),
    h(
      'div',
      null,
      h('strong', null, 'Chain broken'),
      h(
        'div',
        null,
        bad
          ? `Record #${bad.seq} (${bad.id}): ${bad.reason}. ${v.records} records checked.`
          : `${v.records} records checked.`,
      ),
    ),
  );
}

export async function sagasPage(ctx: PageContext): Promise<void> {
  ctx.title('Sagas');
  const status = ctx.query.get('status') ?? '';
  const input = h('input', { name: 'id', placeholder: 'saga id', required: true });
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    h('label', null, 'Open a saga by id', input),
    h('button', { class: 'btn btn-primary', type: 'submit' }, icon('search', 16), 'Open'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value.trim()) ctx.navigate(paths.adminSaga(input.value.trim()));
  });
  const filter = h(
    'div',
    { class: 'chips' },
    ['', 'RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED'].map((s) =>
      h(
        'a',
        { class: `chip${s === status ? ' active' : ''}`, href: withQuery(paths.adminSagas(), { status: s }) },
        s ? s.toLowerCase() : 'all',
      ),
    ),
  );
  const list = h('div', null, loading('Loading sagas…'));
  mount(ctx.view, pageHeader('Administration'), adminTabs('sagas'), form, filter, list);
  try {
    const { items } = await api.sagas({ status: status || undefined, limit: 50 }, ctx.signal);
    if (items.length === 0) {
      mount(
        list,
        emptyState(
          'No sagas',
          status ? `No saga is ${status.toLowerCase()}.` : 'No checkout has started yet.',
        ),
      );
      return;
    }
    mount(
      list,
      h(
        'div',
        { class: 'panel table-wrap' },
        h(
          'table',
          { class: 'table', 'data-testid': 'sagas' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', null, 'Saga'),
              h('th', null, 'Started'),
              h('th', null, 'Customer'),
              h('th', { class: 'num' }, 'Amount'),
              h('th', null, 'Saga status'),
              h('th', null, 'Order'),
            ),
          ),
          h(
            'tbody',
            null,
            items.map((s) =>
              h(
                'tr',
                null,
                h(
                  'td',
                  null,
                  h('a', { href: paths.adminSaga(s.sagaId) }, h('code', null, shortId(s.sagaId))),
                ),
                h('td', { class: 'nowrap' }, formatDateTime(s.createdAt)),
                h('td', null, s.userId),
                h('td', { class: 'num' }, price(s.totalCents, s.currency)),
                h('td', null, statusBadge(s.status)),
                h('td', null, h('a', { href: paths.order(s.orderId) }, statusBadge(s.checkoutStatus))),
              ),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    mount(list, errorState(err, h('a', { class: 'btn', href: paths.adminSagas() }, 'Try again')));
  }
}

export async function sagaPage(ctx: PageContext, id: string): Promise<void> {
  ctx.title(`Saga ${shortId(id)}`);
  mount(ctx.view, pageHeader('Administration'), adminTabs('sagas'), loading('Loading the saga…'));
  let saga: Saga;
  try {
    saga = await api.saga(id, ctx.signal);
  } catch (err) {
    mount(
      ctx.view,
      pageHeader('Administration'),
      adminTabs('sagas'),
      errorState(
        err,
        h('a', { class: 'btn', href: paths.adminSagas() }, 'Find another saga'),
        err instanceof ApiError && err.status === 404 ? 'No such saga' : undefined,
      ),
    );
    return;
  }
  mount(
    ctx.view,
    pageHeader('Administration'),
    adminTabs('sagas'),
    h(
      'section',
      { class: 'panel saga-head', 'data-testid': 'saga', 'data-status': saga.status },
      h(
        'div',
        { class: 'order-hero-top' },
        h('h1', null, `Checkout saga ${shortId(saga.sagaId)}`),
        statusBadge(saga.status),
      ),
      saga.reason
        ? h(
            'p',
            { class: 'reason' },
            icon('alert', 16),
            h('span', null, 'Reason: ', h('strong', null, saga.reason)),
          )
        : null,
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'Saga'),
        h('dd', null, h('code', null, saga.sagaId)),
        h('dt', null, 'Order'),
        h(
          'dd',
          null,
          h('a', { href: paths.order(saga.orderId) }, h('code', null, saga.orderId)),
          ' ',
          statusBadge(saga.checkoutStatus),
        ),
        h('dt', null, 'Customer'),
        h('dd', null, saga.userId),
        h('dt', null, 'Amount'),
        h('dd', null, price(saga.totalCents, saga.currency)),
        h('dt', null, 'Started'),
        h('dd', null, formatDateTime(saga.createdAt)),
        saga.finishedAt ? [h('dt', null, 'Finished'), h('dd', null, formatDateTime(saga.finishedAt))] : null,
      ),
    ),
    h(
      'div',
      { class: 'order-layout' },
      h(
        'section',
        { class: 'panel' },
        h('h2', null, 'Steps'),
        h(
          'ol',
          { class: 'steps' },
          saga.steps.map((s) =>
            h(
              'li',
              { class: `step step-${s.status.toLowerCase()}`, 'data-step': s.name },
              h('div', { class: 'step-head' }, h('strong', null, s.name), statusBadge(s.status)),
              h(
                'span',
                { class: 'muted small' },
                `${s.attempts} attempt${s.attempts === 1 ? '' : 's'}${s.compensationAttempts ? `, ${s.compensationAttempts} compensation` : ''}`,
              ),
              s.error ? h('p', { class: 'tl-detail' }, `${s.error.code}: ${s.error.message}`) : null,
              s.compensationError
                ? h(
                    'p',
                    { class: 'tl-detail' },
                    `compensation ${s.compensationError.code}: ${s.compensationError.message}`,
                  )
                : null,
            ),
          ),
        ),
      ),
      h(
        'section',
        { class: 'panel' },
        h('h2', null, 'Log'),
        h(
          'ol',
          { class: 'timeline' },
          saga.log.map((l) =>
            h(
              'li',
              { class: `tl-item ${/fail|compensat/i.test(l.event) ? 'tl-bad' : 'tl-done'}` },
              h('span', { class: 'tl-dot' }),
              h(
                'div',
                null,
                h('strong', null, [l.event, l.step].filter(Boolean).join(' · ')),
                h('time', { class: 'muted', datetime: l.at }, formatDateTime(l.at)),
                l.detail ? h('p', { class: 'tl-detail' }, l.detail) : null,
              ),
            ),
          ),
        ),
      ),
    ),
  );
}
