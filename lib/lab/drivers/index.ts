import type { LabConfig } from '../../config.js';
import type { LabDriver } from './driver.js';
import { localDriver } from './local.js';
import { vagrantDriver } from './vagrant.js';

export { PreflightError } from './driver.js';
export type { CreatedHost, CreateProgress, LabDriver, Manifest } from './driver.js';

/** The providers by name (LAB_PROVIDER): adding one is adding its file and a line here. */
const DRIVERS: Record<LabConfig['provider'], LabDriver> = {
  vagrant: vagrantDriver,
  local: localDriver,
};

export function driverFor(provider: LabConfig['provider']): LabDriver {
  return DRIVERS[provider];
}
