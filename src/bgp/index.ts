// src/bgp: pure BGP path and peer building for the gobgpd sidecar (no I/O; the gRPC edge is speaker/bgp/).
//
// Flow: announcements (address + BGPAdvertisement parameters) -> buildDesiredPaths -> planPaths(current) ->
// buildAddPathRequest / buildDeletePathRequest; peers: PeerSpec -> buildAddPeerRequest. Replies from gobgpd are
// decoded by status.ts; planAdoption lets a restarted speaker take over paths a surviving gobgpd still holds.

export * from './api.ts';
export * from './community.ts';
export * from './path.ts';
export * from './peer.ts';
export * from './plan.ts';
export * from './prefix.ts';
export * from './status.ts';
export * from './uuid.ts';
