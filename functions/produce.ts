import { createLambdaHandler } from '../shared/api/lambda';

/** Produce: JSON records, binary batches and the multi-partition framing (the routes of the route table whose function is "produce"). */
export const handler = createLambdaHandler('produce');
