import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveSluiceProps, type SluiceProps } from '../../cdk/sluice-construct';
import { SluiceStack } from '../../cdk/sluice-stack';
import { actionsOf, cdkContext, FIXTURE_FUNCTIONS, SKIP_BUNDLING, type Statement } from './support';

let stack: SluiceStack;
let template: Template;
let defaults: Template;

beforeAll(() => {
  const app = new App({ context: { ...cdkContext(), ...SKIP_BUNDLING } });
  stack = new SluiceStack(app, 'SluiceUrls', {
    sluice: { functionsDir: FIXTURE_FUNCTIONS, dataPath: 'functionUrls' },
  });
  const all = new iam.Role(stack, 'AllTopicsService', { assumedBy: new iam.AccountRootPrincipal() });
  stack.sluice.grantProduce(all, '*');
  stack.sluice.grantConsume(all, '*', '*');
  const scoped = new iam.Role(stack, 'OrdersProducer', { assumedBy: new iam.AccountRootPrincipal() });
  stack.sluice.grantProduce(scoped, 'orders');
  // Both stacks before the first synthesis: the app's tree may not change after it.
  const plain = new SluiceStack(app, 'SluiceApiOnly', { sluice: { functionsDir: FIXTURE_FUNCTIONS } });
  template = Template.fromStack(stack);
  defaults = Template.fromStack(plain);
}, 240_000); // two syntheses: slow on a loaded machine

/** The statements of the inline policies attached to one role. */
function statementsOf(roleLogicalIdPrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith(roleLogicalIdPrefix)),
    )
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

describe('Class: Sluice (dataPath functionUrls)', () => {
  it('adds AWS_IAM function URLs: produce buffered, fetch streaming', () => {
    template.resourceCountIs('AWS::Lambda::Url', 2);
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM', InvokeMode: 'BUFFERED' });
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      InvokeMode: 'RESPONSE_STREAM',
    });
  });

  it('serves the streaming URL from a second fetch function running streamHandler, with the fetch settings', () => {
    const fetchSettings = resolveSluiceProps({ dataPath: 'functionUrls' } satisfies SluiceProps);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.streamHandler',
      MemorySize: fetchSettings.memorySizeMb.fetch,
      Timeout: fetchSettings.timeoutSeconds.fetch,
      Architectures: ['arm64'],
    });
    const streaming = template.findResources('AWS::Lambda::Url', {
      Properties: { InvokeMode: 'RESPONSE_STREAM' },
    });
    const target = Object.values(streaming)[0]!.Properties.TargetFunctionArn['Fn::GetAtt'][0] as string;
    expect(target).toMatch(/FetchStreamFunction/);
    // It reads what the fetch function reads, and may write only the range repair, as fetch.
    const own = statementsOf(`EventsFetchStreamFunctionServiceRole`);
    expect(own.flatMap(actionsOf)).toEqual(
      expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem']),
    );
    expect(own.flatMap(actionsOf)).not.toEqual(expect.arrayContaining(['s3:PutObject']));
    expect(own.flatMap(actionsOf).some((a) => /Delete/.test(a))).toBe(false);
  });

  it('outputs the two URLs for the SDK option functionUrls', () => {
    template.hasOutput('ProduceUrl', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('ProduceFunctionFunctionUrl'), 'FunctionUrl'] },
    });
    template.hasOutput('FetchUrl', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('FetchStreamFunctionFunctionUrl'), 'FunctionUrl'] },
    });
  });

  it('grants the URLs with Sluice.ALL: lambda:InvokeFunctionUrl and lambda:InvokeFunction (the model since October 2025)', () => {
    const actions = statementsOf('AllTopicsService').flatMap(actionsOf);
    expect(actions).toEqual(expect.arrayContaining(['lambda:InvokeFunctionUrl', 'lambda:InvokeFunction']));
    // A principal scoped to one topic gets no URL: IAM on a function URL cannot name a topic.
    const scoped = statementsOf('OrdersProducer').flatMap(actionsOf);
    expect(scoped).not.toContain('lambda:InvokeFunctionUrl');
    expect(scoped).toContain('execute-api:Invoke');
  });

  it('keeps API Gateway in front of every route, and adds no URL by default', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    defaults.resourceCountIs('AWS::Lambda::Url', 0);
    defaults.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    expect(Object.keys(defaults.findOutputs('ProduceUrl'))).toHaveLength(0);
  });

  it('gives the fetch function 256 MB by default: a waiting long poll is billed by memory', () => {
    defaults.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 30,
    });
  });

  it('refuses an unknown dataPath, naming the setting and the choices', () => {
    expect(() => resolveSluiceProps({ dataPath: 'lambdaUrls' as SluiceProps['dataPath'] })).toThrow(
      'dataPath must be one of apiGateway, functionUrls, but "lambdaUrls" was provided',
    );
  });
});
