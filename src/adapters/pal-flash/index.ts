/**
 * The simulated NOR-flash PAL port: `createFlashPal(options)` for composition roots (CLI `flash:IMAGE`,
 * tests), and the flash simulator with its fault-injection controls. Adapter beside layer L2.
 * @module
 */
export {
  type BadSectorMode,
  type CutMode,
  DEFAULT_GEOMETRY,
  FlashDevice,
  type FlashDeviceOptions,
  type FlashGeometry,
  FlashIoError,
  type FlashStep,
  PowerCutError,
  type TornProgramModel,
} from './flash-device.js';
export type { FlashLogStats } from './flash-log.js';
export { createFlashPal, FlashPal, type FlashPalOptions, MAX_LABEL_BYTES } from './flash-pal.js';
