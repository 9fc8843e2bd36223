import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Sluice, type SluiceProps } from './sluice-construct';

export interface SluiceStackProps extends StackProps {
  /** Settings of the Sluice construct. @default the construct's defaults */
  readonly sluice?: SluiceProps;
}

/** The deployable app: one Sluice construct and the outputs a client needs. */
export class SluiceStack extends Stack {
  readonly sluice: Sluice;

  constructor(scope: Construct, id: string, props: SluiceStackProps = {}) {
    super(scope, id, props);
    this.sluice = new Sluice(this, 'Events', props.sluice);

    const outputs: Record<string, [string, string]> = {
      ApiUrl: [this.sluice.apiUrl, 'Base URL of the Sluice API (IAM-signed requests), ending in the stage'],
      ApiId: [this.sluice.api.restApiId, 'REST API id, for execute-api ARNs and the LocalStack URL'],
      StageName: [this.sluice.stageName, 'API Gateway stage'],
      BucketName: [this.sluice.bucket.bucketName, 'S3 bucket of segment objects'],
      TopicsTableName: [this.sluice.tables.topics.tableName, 'DynamoDB table of topics'],
      LogTableName: [this.sluice.tables.log.tableName, 'DynamoDB table of partition heads and segment index'],
      GroupsTableName: [this.sluice.tables.groups.tableName, 'DynamoDB table of consumer groups and offsets'],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
    if (this.sluice.functionUrls) {
      new CfnOutput(this, 'ProduceUrl', {
        value: this.sluice.functionUrls.produce.url,
        description:
          'Function URL of produce (AWS_IAM, SigV4 service lambda): the SDK option functionUrls.produce',
      });
      new CfnOutput(this, 'FetchUrl', {
        value: this.sluice.functionUrls.fetch.url,
        description: 'Function URL of fetch (AWS_IAM, response streaming): the SDK option functionUrls.fetch',
      });
    }
    if (this.sluice.dashboard) {
      new CfnOutput(this, 'DashboardName', {
        value: this.sluice.dashboard.dashboardName,
        description: 'CloudWatch dashboard',
      });
    }
  }
}
