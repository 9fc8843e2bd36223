import { createLambdaHandler } from '../shared/api/lambda';

/** Topic administration and offset lookups (the routes of the route table whose function is "admin"). */
export const handler = createLambdaHandler('admin');
