// Names of the xDS resources built for a service. A gRPC client dialing xds:///S asks for the
// Listener named S; everything else is reached through references, so one name serves all four.

export interface ServiceResourceNames {
  readonly listener: string;
  readonly route: string;
  readonly cluster: string;
  /** ClusterLoadAssignment name (the cluster's EDS service_name). */
  readonly endpoints: string;
}

export function resourceNamesFor(serviceName: string): ServiceResourceNames {
  return { listener: serviceName, route: serviceName, cluster: serviceName, endpoints: serviceName };
}
