import * as aws from '@pulumi/aws';
import * as awsx from '@pulumi/awsx';
import * as pulumi from '@pulumi/pulumi';
import { classified } from './tags';

export interface NetworkArgs {
  /** The zone's home region, where the VPC and its endpoints live. */
  region: string;
  /** CIDR of the VPC. @default 10.80.0.0/16 */
  cidrBlock?: string;
  /** Availability zones to spread the subnets over. @default 2 */
  availabilityZones?: number;
}

/**
 * Network isolation, when a zone turns it on: a VPC with isolated private subnets only (no NAT,
 * no internet gateway), gateway endpoints for S3 and DynamoDB, and interface endpoints for the
 * Bedrock runtime, KMS and CloudWatch Logs, all in the home region. The functions then reach AWS
 * only through these endpoints, and nothing else at all.
 */
export class Network extends pulumi.ComponentResource {
  public readonly vpc: awsx.ec2.Vpc;
  public readonly functionSecurityGroup: aws.ec2.SecurityGroup;
  public readonly subnetIds: pulumi.Output<string[]>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:network:Network', name, {}, opts);
    this.vpc = this.createVpc(name, args);
    this.subnetIds = this.vpc.isolatedSubnetIds;
    this.functionSecurityGroup = this.createSecurityGroup(name, args);
    this.createInterfaceEndpoints(name, args);
    this.registerOutputs({ vpcId: this.vpc.vpcId, subnetIds: this.subnetIds });
  }

  private createVpc(name: string, args: NetworkArgs) {
    return new awsx.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: args.cidrBlock ?? '10.80.0.0/16',
        numberOfAvailabilityZones: args.availabilityZones ?? 2,
        subnetSpecs: [{ type: 'Isolated', cidrMask: 20 }],
        natGateways: { strategy: 'None' },
        enableDnsHostnames: true,
        enableDnsSupport: true,
        vpcEndpointSpecs: [
          { serviceName: `com.amazonaws.${args.region}.s3`, vpcEndpointType: 'Gateway' },
          { serviceName: `com.amazonaws.${args.region}.dynamodb`, vpcEndpointType: 'Gateway' },
        ],
        tags: classified('none'),
      },
      { parent: this },
    );
  }

  private createSecurityGroup(name: string, args: NetworkArgs) {
    // Gateway endpoints are reached through the services' prefix lists, not the VPC's CIDR.
    const prefixList = (service: string) =>
      aws.ec2.getPrefixListOutput({ name: `com.amazonaws.${args.region}.${service}` }, { parent: this }).id;
    return new aws.ec2.SecurityGroup(
      `${name}-functions`,
      {
        vpcId: this.vpc.vpcId,
        description: 'Serenya functions: HTTPS to the VPC endpoints only',
        ingress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, self: true, description: 'interface endpoints' }],
        egress: [
          { protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: [args.cidrBlock ?? '10.80.0.0/16'], description: 'interface endpoints' },
          { protocol: 'tcp', fromPort: 443, toPort: 443, prefixListIds: [prefixList('s3'), prefixList('dynamodb')], description: 'S3 and DynamoDB gateways' },
        ],
        tags: classified('none'),
      },
      { parent: this },
    );
  }

  private createInterfaceEndpoints(name: string, args: NetworkArgs) {
    return ['bedrock-runtime', 'kms', 'logs'].map(
      (service) =>
        new aws.ec2.VpcEndpoint(
          `${name}-${service}`,
          {
            vpcId: this.vpc.vpcId,
            serviceName: `com.amazonaws.${args.region}.${service}`,
            vpcEndpointType: 'Interface',
            privateDnsEnabled: true,
            subnetIds: this.subnetIds,
            securityGroupIds: [this.functionSecurityGroup.id],
            tags: classified('none'),
          },
          { parent: this },
        ),
    );
  }
}
