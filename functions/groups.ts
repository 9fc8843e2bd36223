import { createLambdaHandler } from '../shared/api/lambda';

/** Consumer groups: membership, heartbeats and committed offsets (the routes of the route table whose function is "groups"). */
export const handler = createLambdaHandler('groups');
