import { describe, expect, it } from 'vitest';
import { ALL, adminRoutes, consumeRoutes, type GrantedRoute, produceRoutes } from '../../cdk/grants';
import { ROUTES } from '../../shared/api/routes';
import { iamMatches } from './support';

const asText = (routes: readonly GrantedRoute[]) => routes.map((r) => `${r.method} ${r.path}`).sort();

interface RequestValues {
  readonly topic: string;
  readonly group: string;
}

/**
 * The operations whose requests, for these path values, a set of granted routes lets through by IAM's
 * matching rules. Requests and grants are compared as `<METHOD><path>`, the tail of the ARN.
 */
function allowedOperations(granted: readonly GrantedRoute[], values: RequestValues): string[] {
  const allowed = ROUTES.filter((route) => {
    const path = route.path
      .replace('{topic}', values.topic)
      .replace('{group}', values.group)
      .replace('{partition}', '0')
      .replace('{memberId}', 'm-1');
    return granted.some((g) => iamMatches(`${g.method}${g.path}`, `${route.method}${path}`));
  });
  return allowed.map((route) => route.operation).sort();
}

describe('Module: cdk/grants', () => {
  describe('Function: produceRoutes', () => {
    it('grants exactly the topic’s produce and describe routes, with the topic as a whole segment', () => {
      // Act
      const routes = produceRoutes('orders');

      // Assess
      expect(asText(routes)).toEqual(
        [
          'GET /v1/topics/orders',
          'GET /v1/topics/orders/partitions/*/offsets',
          'POST /v1/topics/orders/partitions/*/batches',
          'POST /v1/topics/orders/records',
        ].sort(),
      );
    });

    it('grants the multi-partition produce route only for all topics', () => {
      expect(asText(produceRoutes('orders'))).not.toContain('POST /v1/produce');
      expect(asText(produceRoutes(ALL))).toContain('POST /v1/produce');
    });

    it('does not let a grant on "orders" reach "orders-eu", "ordersX" or "order"', () => {
      // Prepare
      const granted = produceRoutes('orders');

      // Act / Assess
      expect(allowedOperations(granted, { topic: 'orders', group: 'g' })).toEqual(
        ['describeTopic', 'listOffsets', 'produceBatches', 'produceRecords'].sort(),
      );
      for (const other of ['orders-eu', 'ordersX', 'order', 'orders.', 'Orders']) {
        expect(allowedOperations(granted, { topic: other, group: 'g' })).toEqual([]);
      }
    });
  });

  describe('Function: consumeRoutes', () => {
    it('grants the topic’s read routes and, with a group, that group’s routes', () => {
      // Act
      const routes = consumeRoutes('orders', 'billing');

      // Assess
      expect(asText(routes)).toEqual(
        [
          'GET /v1/topics/orders',
          'GET /v1/topics/orders/partitions/*/batches',
          'GET /v1/topics/orders/partitions/*/records',
          'GET /v1/topics/orders/partitions/*/offsets',
          'GET /v1/groups/billing',
          'DELETE /v1/groups/billing',
          'POST /v1/groups/billing/members',
          'POST /v1/groups/billing/members/*/heartbeat',
          'DELETE /v1/groups/billing/members/*',
          'POST /v1/groups/billing/offsets',
          'GET /v1/groups/billing/offsets',
          'POST /v1/groups/billing/offsets/reset',
        ].sort(),
      );
    });

    it('lets no write through and reaches neither another topic nor another group', () => {
      // Prepare
      const granted = consumeRoutes('orders', 'billing');

      // Act
      const own = allowedOperations(granted, { topic: 'orders', group: 'billing' });
      const others = allowedOperations(granted, { topic: 'orders-eu', group: 'billing-eu' });

      // Assess
      expect(own).not.toContain('produceRecords');
      expect(own).not.toContain('produceBatches');
      expect(own).not.toContain('deleteTopic');
      expect(own).toContain('commitOffsets');
      expect(others).toEqual([]);
    });

    it('without a group grants no group route', () => {
      expect(consumeRoutes('orders').some((r) => r.path.startsWith('/v1/groups'))).toBe(false);
    });

    it('grants the listing and multi-partition fetch routes only for all topics and groups', () => {
      expect(asText(consumeRoutes(ALL, ALL))).toEqual(
        expect.arrayContaining(['GET /v1/topics', 'POST /v1/fetch', 'GET /v1/groups']),
      );
      expect(asText(consumeRoutes('orders', 'billing'))).not.toEqual(
        expect.arrayContaining(['GET /v1/topics']),
      );
    });
  });

  describe('Function: adminRoutes', () => {
    it('grants the admin routes on every topic and nothing else', () => {
      expect(asText(adminRoutes())).toEqual(
        [
          'POST /v1/topics',
          'DELETE /v1/topics/*',
          'POST /v1/topics/*/partitions',
          'POST /v1/topics/*/config',
        ].sort(),
      );
    });
  });

  describe('Function: validateTopicName / validateGroupName', () => {
    it.each(['orders*', 'a/b', '..', '.', '', 'a?b', 'x'.repeat(250), 'orders eu', 'a%2Fb'])(
      'refuses the topic %j with the rule and the value',
      (topic) => {
        expect(() => produceRoutes(topic)).toThrow(
          `topic must be 1 to 249 characters of [a-zA-Z0-9._-], not "." or "..", or "*" for all topics, but ${JSON.stringify(topic)} was provided`,
        );
      },
    );

    it('refuses a group with a wildcard', () => {
      expect(() => consumeRoutes('orders', 'bill*')).toThrow(
        'group must be 1 to 249 characters of [a-zA-Z0-9._-], not "." or "..", or "*" for all groups, but "bill*" was provided',
      );
    });
  });
});
