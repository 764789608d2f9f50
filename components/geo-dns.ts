import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ApiDomain } from './api';

export interface GeoDnsArgs extends ApiDomain {
  /** The zone, used in each record's set identifier. */
  zone: string;
  /** API Gateway's regional domain for the zone name. */
  zoneDomain: aws.apigateway.DomainName;
  /** API Gateway's regional domain for the global name. */
  globalDomain: aws.apigateway.DomainName;
  /** Continents whose devices this zone answers (Route 53 codes: EU, NA, …). @default [] */
  continents?: string[];
  /** Countries whose devices this zone answers (ISO 3166 alpha-2). @default [] */
  countries?: string[];
  /** Answer devices no zone's location matches (the `*` record); one zone only. @default false */
  answersDefault?: boolean;
}

/**
 * Sends a device's first call to this zone when it is in this zone's locations: one geolocation
 * record per location on the global name (Route 53 takes one location per record), the default
 * record where configured. The zone's own name points here without conditions: once pinned, the
 * app stays.
 *
 * Residency fails closed: no record carries a health check or evaluates its target's health. With
 * either, an unhealthy zone's geolocation record would fall through to the default record — another
 * zone's — and onboard this zone's users abroad. A zone that is down answers errors; it never sends
 * its users to another zone (the zone's own alarms page the on-call).
 */
export class GeoDns extends pulumi.ComponentResource {
  public readonly records: aws.route53.Record[] = [];

  constructor(name: string, args: GeoDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:edge:GeoDns', name, {}, opts);
    this.records.push(this.createZoneRecord(name, args), ...this.createGeoRecords(name, args));
    this.registerOutputs({ records: this.records.map((r) => r.fqdn) });
  }

  private alias(domain: aws.apigateway.DomainName) {
    return [{ name: domain.regionalDomainName, zoneId: domain.regionalZoneId, evaluateTargetHealth: false }];
  }

  private createZoneRecord(name: string, args: GeoDnsArgs) {
    return new aws.route53.Record(
      `${name}-zone-name`,
      { zoneId: args.hostedZoneId, name: args.zoneName, type: 'A', aliases: this.alias(args.zoneDomain) },
      { parent: this },
    );
  }

  private createGeoRecords(name: string, args: GeoDnsArgs) {
    const locations = [
      ...(args.continents ?? []).map((continent) => ({ id: `continent-${continent}`, policy: { continent } })),
      ...(args.countries ?? []).map((country) => ({ id: `country-${country}`, policy: { country } })),
      ...(args.answersDefault ? [{ id: 'default', policy: { country: '*' } }] : []),
    ];
    return locations.map(
      ({ id, policy }) =>
        new aws.route53.Record(
          `${name}-${id}`,
          {
            zoneId: args.hostedZoneId,
            name: args.globalName,
            type: 'A',
            setIdentifier: `${args.zone}-${id}`,
            geolocationRoutingPolicies: [policy],
            aliases: this.alias(args.globalDomain),
          },
          { parent: this },
        ),
    );
  }
}
