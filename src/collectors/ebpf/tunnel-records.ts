// An ended tunnel of the table as the accounting record the spool keeps (src/accounting/records.ts).
import { tunnelLifecycleId, type AmtTunnelLifecycle } from '../../accounting/records.ts';
import type { RelayConfig } from '../../config/types.ts';
import type { TunnelLife } from './tunnel-table.ts';

export function lifecycleRecord(life: TunnelLife, relay: Pick<RelayConfig, 'name' | 'ipv4' | 'ipv6'>, mode: string): AmtTunnelLifecycle {
  const v6 = life.gateway.address.includes(':');
  const key = { source: 'ebpf', relay: relay.name, gateway: life.gateway.address, gatewayPort: life.gateway.port, start: life.start };
  return {
    type: 'amt-tunnel-lifecycle',
    id: tunnelLifecycleId(key),
    ...key,
    relayAddress: (v6 ? (relay.ipv6 ?? relay.ipv4) : (relay.ipv4 ?? relay.ipv6)) ?? '',
    end: life.end,
    durationMs: life.end - life.start,
    endReason: life.reason,
    groups: life.groups,
    groupsOmitted: life.groupsOmitted,
    packets: life.toGateway.packets,
    bytes: life.toGateway.bytes,
    packetsFromGateway: life.fromGateway.packets,
    bytesFromGateway: life.fromGateway.bytes,
    mode,
  };
}
