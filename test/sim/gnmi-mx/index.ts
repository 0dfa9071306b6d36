/**
 * The simulated Juniper MX gNMI target, for tests and benchmarks (see README.md):
 *
 *   const pki = await testPki();
 *   const mx = await start({ tunnels: 500_000, tls: { pki }, auth: { username: 'driad', password: 'x' } });
 *   mx.setTunnels(1000); mx.churn(10); mx.reboot(); await mx.fail('silent'); await mx.heal();
 *   await mx.stop();
 */
export { startGnmiMx as start, startGnmiMx, DEFAULT_AUTH, type FailKind, type GnmiMx, type GnmiMxOptions, type SimAuth, type SimStats } from './server.ts';
export { testPki, type CertKey, type TestPki } from './pki.ts';
export { MxModel, AMT_STATISTICS, INTERFACE_COUNTERS, type MxModelOptions } from './model.ts';
export { clientCredentials, simClient, capabilities, get, subscribe, subscriptionRequest, goodMetadata, SubscribeRecorder, type ClientCert } from './client.ts';
