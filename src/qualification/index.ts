/**
 * The ported FreeRTOS PKCS#11 qualification suite (FreeRTOS-Libraries-Integration-Tests, src/pkcs11):
 * run it against any pkcs11js-shaped module with `runQualification`. Re-exports only. Layer L7.
 * @module
 */
export {
  type Credentials,
  checkConfig,
  DEFAULT_CREDENTIALS,
  DEFAULT_EC_CERTIFICATE_LENGTH,
  DEFAULT_LABELS,
  DEFAULT_RSA_CERTIFICATE_LENGTH,
  isPresetName,
  PRESET_NAMES,
  type PresetName,
  presetConfig,
  type QualificationConfig,
} from './config.js';
export { inProcessHooks, type WorkerModuleSpec, workerThreadHooks } from './hooks.js';
export {
  initializeToken,
  type Pkcs11Admin,
  preprovision,
  QualificationConfigError,
  type QualificationOptions,
  resolveConfig,
  runQualification,
} from './run.js';
export type {
  Handle,
  KeyParts,
  Labels,
  Pkcs11Like,
  PlatformHooks,
  TaskEnv,
  TaskFunction,
  TaskParams,
  ThreadHandle,
  Verifier,
} from './types.js';
export type { TestResult, UnityReport } from './unity.js';
