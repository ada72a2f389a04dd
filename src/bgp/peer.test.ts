import { describe, expect, it } from 'vitest';
import {
  GRACEFUL_RESTART_DEFERRAL,
  GRACEFUL_RESTART_TIME,
  buildAddPeerRequest,
  buildStartBgpRequest,
  redactAddPeerRequest,
  type PeerSpec,
} from './peer.ts';

const peer: PeerSpec = {
  address: '192.0.2.1',
  peerASN: 64512,
  myASN: 64513,
  holdTime: 90,
  keepaliveTime: 30,
  families: { ipv4: true, ipv6: false },
};

describe('buildAddPeerRequest', () => {
  it('sets connect retry low by default', () => {
    expect(buildAddPeerRequest(peer).peer.timers.config).toEqual({
      connect_retry: 5,
      hold_time: 90,
      keepalive_interval: 30,
    });
  });

  it('leaves out an empty password', () => {
    expect(buildAddPeerRequest({ ...peer, password: '' }).peer.conf).not.toHaveProperty('auth_password');
  });

  it.each([
    [{ holdTime: 0 }, 'Invalid peer "192.0.2.1": holdTime 0 must be an integer from 3 to 65535'],
    [{ keepaliveTime: 91 }, 'keepaliveTime 91 must be an integer from 1 to 90'],
    [{ peerASN: -1 }, 'peerASN -1'],
    [{ myASN: 2 ** 32 }, 'myASN 4294967296'],
    [{ port: 0 }, 'port 0'],
    [{ connectTime: 0 }, 'connectTime 0'],
    [{ ebgpMultiHop: true, peerASN: 64513 }, 'ebgpMultiHop is not allowed for an iBGP session'],
    [{ families: { ipv4: false, ipv6: false } }, 'no address family enabled'],
    [{ sourceAddress: '2001:db8::11' }, 'source address "2001:db8::11" is not ipv4'],
    [{ address: 'router.example' }, 'Invalid peer "router.example": not an IP address'],
  ] as const)('rejects %o', (change, message) => {
    expect(() => buildAddPeerRequest({ ...peer, ...change })).toThrow(message);
  });

  it('sends no graceful restart unless asked', () => {
    const request = buildAddPeerRequest({ ...peer, families: { ipv4: true, ipv6: true } });
    expect(request.peer).not.toHaveProperty('graceful_restart');
    expect(request.peer.afi_safis.map((a) => 'mp_graceful_restart' in a)).toEqual([false, false]);
  });

  it('with gracefulRestart, offers it for every family, restarting with forwarding kept', () => {
    const request = buildAddPeerRequest({
      ...peer,
      gracefulRestart: true,
      families: { ipv4: true, ipv6: true },
    });
    expect(request.peer.graceful_restart).toEqual({
      enabled: true,
      restart_time: GRACEFUL_RESTART_TIME,
      deferral_time: GRACEFUL_RESTART_DEFERRAL,
      local_restarting: true,
    });
    expect(request.peer.afi_safis).toEqual([
      {
        config: { family: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' }, enabled: true },
        mp_graceful_restart: { config: { enabled: true } },
      },
      {
        config: { family: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' }, enabled: true },
        mp_graceful_restart: { config: { enabled: true } },
      },
    ]);
    expect(GRACEFUL_RESTART_TIME).toBe(120); // FRR's default restart time, which MetalLB keeps
  });

  it('redacts the password for logs without touching the request', () => {
    const request = buildAddPeerRequest({ ...peer, password: 's3cret' });
    const redacted = redactAddPeerRequest(request);
    expect(JSON.stringify(redacted)).not.toContain('s3cret');
    expect(redacted.peer.conf.auth_password).toBe('<redacted>');
    expect(request.peer.conf.auth_password).toBe('s3cret');
    const plain = buildAddPeerRequest(peer);
    expect(redactAddPeerRequest(plain)).toBe(plain);
  });
});

describe('buildStartBgpRequest', () => {
  it('opens no listener', () => {
    expect(buildStartBgpRequest({ asn: 64513, routerId: '192.0.2.11' }).global.listen_port).toBe(-1);
  });
  it('needs an IPv4 router ID', () => {
    expect(() => buildStartBgpRequest({ asn: 64513, routerId: '2001:db8::11' })).toThrow('Invalid router ID');
  });
});
