/**
 * corePKCS11's well-known object labels (core_pkcs11_config_defaults.h): where a FreeRTOS application
 * looks for its device credentials after provisioning. Layer L7.
 * @module
 */

export const LABEL_DEVICE_PRIVATE_KEY = 'Device Priv TLS Key';
export const LABEL_DEVICE_PUBLIC_KEY = 'Device Pub TLS Key';
export const LABEL_DEVICE_CERTIFICATE = 'Device Cert';
export const LABEL_CODE_VERIFICATION_KEY = 'Code Verify Key';
export const LABEL_HMAC_KEY = 'HMAC Key';
export const LABEL_CMAC_KEY = 'CMAC Key';
export const LABEL_CLAIM_PRIVATE_KEY = 'Claim Key';
export const LABEL_CLAIM_CERTIFICATE = 'Claim Cert';
export const LABEL_ROOT_CERTIFICATE = 'Root Cert';
export const LABEL_JITP_CERTIFICATE = 'JITP Cert';
