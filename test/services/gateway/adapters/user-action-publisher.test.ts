import { expect } from 'chai';
import { service } from '@meshmart/catalogue';
import { InMemoryEventBus, topicGuard, TopicNotInCatalogueError } from '@meshmart/kit/events';
import { UserActionPublisher } from '../../../../services/gateway/src/adapters/user-action-publisher.ts';
import { testKit } from '../../../support/stores.ts';

describe('UserActionPublisher', function () {
  const inner = new InMemoryEventBus({ source: 'test' });
  after(() => inner.close());
  const kit = testKit('gateway');

  it('when built on a bus whose catalogue entry does not publish its topic, then it fails naming the service and the topic', () => {
    const bus = topicGuard(inner, { ...service('audit'), service: 'audit' });
    expect(() => new UserActionPublisher({ bus, logger: kit.logger, registry: kit.metrics.registry }))
      .to.throw(TopicNotInCatalogueError)
      .that.includes({ service: 'audit', topic: 'gateway.user-actions', list: 'publishes' });
  });

  it("when built on the gateway's bus, then it starts", () => {
    const bus = topicGuard(inner, { ...service('gateway'), service: 'gateway' });
    expect(
      () => new UserActionPublisher({ bus, logger: kit.logger, registry: kit.metrics.registry }),
    ).not.to.throw();
  });
});
