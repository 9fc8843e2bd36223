import { createLambdaHandler } from '../shared/api/lambda';

/** Fetch: binary batches, decoded records and the multi-partition long poll (the routes of the route table whose function is "fetch"). */
export const handler = createLambdaHandler('fetch');
