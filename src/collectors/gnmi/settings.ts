import type { AmtRelayValues, GnmiConfig } from '../../config/types.ts';

/** What the collector and the CLI need from the config: the gnmi section and the amtRelay auth values. */
export interface GnmiSettings extends GnmiConfig {
  authMode: AmtRelayValues['gnmiAuthMode'];
  username?: string;
  passwordSecret?: string;
  tlsSkipVerify: boolean;
}

export function gnmiSettings(gnmi: GnmiConfig, amtRelay: AmtRelayValues): GnmiSettings {
  return {
    ...gnmi,
    authMode: amtRelay.gnmiAuthMode,
    username: amtRelay.gnmiUsername,
    passwordSecret: amtRelay.gnmiPasswordSecret,
    tlsSkipVerify: amtRelay.gnmiTLSSkipVerify,
  };
}

/** Whether connections use TLS (all but gnmiAuthMode password with gnmi.plaintext). */
export function usesTls(s: GnmiSettings): boolean {
  return !(s.authMode === 'password' && s.plaintext);
}
