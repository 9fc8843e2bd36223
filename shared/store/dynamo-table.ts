import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, translateAwsError } from './errors';

export type Item = Record<string, AttributeValue>;

/** The expression parts of one request besides the key: condition, names and values. */
export interface Expression {
  /** ConditionExpression: the write holds only if it is true. */
  readonly condition?: string;
  /** Placeholders the table's attribute map does not name (dynamic names, such as a member id). */
  readonly names?: Readonly<Record<string, string>>;
  readonly values?: Readonly<Record<string, AttributeValue>>;
}

export interface UpdateExpression extends Expression {
  readonly returnValues?: 'ALL_NEW' | 'UPDATED_NEW';
}

/** DynamoDB's BatchWriteItem and BatchGetItem limits. */
const BATCH_WRITE_LIMIT = 25;
const BATCH_GET_LIMIT = 100;
const PLACEHOLDER = /#\w+/g;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One DynamoDB table as the adapters use it: every read consistent, every AWS failure translated once
 * (translateAwsError), and every conditional write answered as a domain result — `undefined`/false when
 * its condition failed — instead of a ConditionalCheckFailedException for each caller to catch.
 *
 * `attributes` maps what an attribute means to the name stored in the table. An expression refers to
 * an attribute as `#<meaning>`, and the table fills in ExpressionAttributeNames with exactly the
 * placeholders the expressions use (DynamoDB refuses unused ones).
 */
export class DynamoTable {
  constructor(
    readonly dynamo: DynamoDBClient,
    readonly name: string,
    private readonly attributes: Readonly<Record<string, string>> = {},
  ) {}

  /** Sends one request; an AWS failure becomes a SluiceError (or is rethrown, if unknown). */
  async send<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      return translateAwsError(err, `DynamoDB ${operation}`);
    }
  }

  /** Sends one conditional write: its output, or undefined when the condition failed. */
  async conditional<T>(operation: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      return translateAwsError(err, `DynamoDB ${operation}`);
    }
  }

  /** A conditional write that answers only whether its condition held. */
  private async holds(operation: string, run: () => Promise<unknown>): Promise<boolean> {
    return (await this.conditional(operation, run)) !== undefined;
  }

  async get(operation: string, key: Item): Promise<Item | undefined> {
    const out = await this.send(operation, () =>
      this.dynamo.send(new GetItemCommand({ TableName: this.name, Key: key, ConsistentRead: true })),
    );
    return out.Item;
  }

  /**
   * The items at `keys`, in their order (undefined where none is): one BatchGetItem per 100 keys, read
   * consistently, unprocessed keys retried with backoff until none is left.
   */
  async getMany(operation: string, keys: readonly Item[]): Promise<(Item | undefined)[]> {
    if (keys.length === 0) return [];
    const keyNames = Object.keys(keys[0]!).sort();
    const idOf = (item: Item) => JSON.stringify(keyNames.map((name) => item[name]));
    const found = new Map<string, Item>();
    // DynamoDB refuses a request that names a key twice.
    const unique = [...new Map(keys.map((key) => [idOf(key), key])).values()];
    await this.inBatches(unique, BATCH_GET_LIMIT, async (pending) => {
      const request = { [this.name]: { Keys: pending, ConsistentRead: true } };
      const out = await this.send(operation, () =>
        this.dynamo.send(new BatchGetItemCommand({ RequestItems: request })),
      );
      for (const item of out.Responses?.[this.name] ?? []) found.set(idOf(item), item);
      return out.UnprocessedKeys?.[this.name]?.Keys ?? [];
    });
    return keys.map((key) => found.get(idOf(key)));
  }

  /** PutItem; false when its condition failed. */
  put(operation: string, item: Item, expression: Expression = {}): Promise<boolean> {
    const command = new PutItemCommand({ TableName: this.name, Item: item, ...this.expression(expression) });
    return this.holds(operation, () => this.dynamo.send(command));
  }

  /** UpdateItem; the attributes asked for by returnValues (else none), or undefined when its condition failed. */
  async update(
    operation: string,
    key: Item,
    update: string,
    expression: UpdateExpression = {},
  ): Promise<Item | undefined> {
    const out = await this.conditional(operation, () =>
      this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.name,
          Key: key,
          UpdateExpression: update,
          ...this.expression(expression, update),
          ReturnValues: expression.returnValues,
        }),
      ),
    );
    return out === undefined ? undefined : (out.Attributes ?? {});
  }

  /** DeleteItem; false when its condition failed. */
  delete(operation: string, key: Item, expression: Expression = {}): Promise<boolean> {
    const command = new DeleteItemCommand({ TableName: this.name, Key: key, ...this.expression(expression) });
    return this.holds(operation, () => this.dynamo.send(command));
  }

  /** One page of a Query (consistent read). */
  async query(
    operation: string,
    input: Omit<QueryCommandInput, 'TableName' | 'ConsistentRead'>,
  ): Promise<{ items: Item[]; lastKey?: Item }> {
    const names = this.names(
      [input.KeyConditionExpression, input.FilterExpression, input.ProjectionExpression],
      input,
    );
    const out = await this.send(operation, () =>
      this.dynamo.send(new QueryCommand({ ...input, TableName: this.name, ConsistentRead: true, ...names })),
    );
    return { items: out.Items ?? [], lastKey: out.LastEvaluatedKey };
  }

  /** Every item a Query finds, page after page. */
  async queryAll(
    operation: string,
    input: Omit<QueryCommandInput, 'TableName' | 'ConsistentRead' | 'ExclusiveStartKey'>,
  ): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.query(operation, { ...input, ExclusiveStartKey: start });
      items.push(...page.items);
      start = page.lastKey;
    } while (start !== undefined);
    return items;
  }

  /** The whole table (consistent), page by page. */
  async *scan(
    operation: string,
    input: Omit<ScanCommandInput, 'TableName' | 'ConsistentRead' | 'ExclusiveStartKey'> = {},
  ): AsyncGenerator<Item[]> {
    const names = this.names([input.ProjectionExpression, input.FilterExpression], input);
    let start: Item | undefined;
    do {
      const page = await this.send(operation, () =>
        this.dynamo.send(
          new ScanCommand({
            ...input,
            TableName: this.name,
            ConsistentRead: true,
            ExclusiveStartKey: start,
            ...names,
          }),
        ),
      );
      yield page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }

  /** BatchWriteItem in groups of 25, retrying unprocessed requests with backoff until none is left. */
  async batchWrite(operation: string, requests: readonly WriteRequest[]): Promise<void> {
    await this.inBatches(requests, BATCH_WRITE_LIMIT, async (pending) => {
      const out = await this.send(operation, () =>
        this.dynamo.send(new BatchWriteItemCommand({ RequestItems: { [this.name]: pending } })),
      );
      return out.UnprocessedItems?.[this.name] ?? [];
    });
  }

  /**
   * Sends `items` in requests of at most `limit`; what a request leaves unprocessed (DynamoDB's answer
   * under throttling) is sent again with backoff until nothing is left.
   */
  private async inBatches<T>(
    items: readonly T[],
    limit: number,
    send: (batch: T[]) => Promise<T[]>,
  ): Promise<void> {
    for (let i = 0; i < items.length; i += limit) {
      let pending = items.slice(i, i + limit);
      for (let attempt = 0; pending.length > 0; attempt++) {
        pending = await send(pending);
        if (pending.length > 0) await sleep(Math.min(1000, 50 * 2 ** attempt));
      }
    }
  }

  private expression(expression: Expression, update?: string) {
    const values = expression.values;
    return {
      ConditionExpression: expression.condition,
      ...this.names([update, expression.condition], expression),
      ExpressionAttributeValues: values && Object.keys(values).length > 0 ? values : undefined,
    };
  }

  /** ExpressionAttributeNames for the placeholders in `expressions`: explicit names first, then the map. */
  private names(
    expressions: readonly (string | undefined)[],
    explicit: { readonly names?: Readonly<Record<string, string>> } & {
      readonly ExpressionAttributeNames?: Record<string, string>;
    },
  ): { ExpressionAttributeNames?: Record<string, string> } {
    const given = { ...explicit.ExpressionAttributeNames, ...explicit.names };
    const names: Record<string, string> = {};
    for (const placeholder of expressions.flatMap((e) => e?.match(PLACEHOLDER) ?? [])) {
      const name = given[placeholder] ?? this.attributes[placeholder.slice(1)];
      if (name === undefined) throw new Error(`${this.name}: no attribute is named ${placeholder}`);
      names[placeholder] = name;
    }
    return Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {};
  }
}
