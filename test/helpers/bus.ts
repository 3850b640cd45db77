// The demo's process helpers are what the integration tests use too: one way to start things.
export { startBus, startDaemon, runHookAsLibvirt } from '../../src/demo/processes';
export type { DaemonProc } from '../../src/demo/processes';
