/**
 * The p11-kit RPC call table: call id → C function name, request signature, reply signature
 * (p11-kit rpc-message.h `p11_rpc_calls`; ids 66–88 from p11-kit 0.25, 89 from 0.26). The order is the wire numbering: ids
 * have no gaps, so the index in CALLS is the id. Layer L7.
 * @module
 */

export interface CallSpec {
  id: number;
  name: string;
  request: string;
  reply: string;
}

const TABLE: [string, string, string][] = [
  ['ERROR', '', 'u'],
  ['C_Initialize', 'ayyay', ''],
  ['C_Finalize', '', ''],
  ['C_GetInfo', '', 'vsusv'],
  ['C_GetSlotList', 'yfu', 'au'],
  ['C_GetSlotInfo', 'u', 'ssuvv'],
  ['C_GetTokenInfo', 'u', 'ssssuuuuuuuuuuuvvs'],
  ['C_GetMechanismList', 'ufu', 'au'],
  ['C_GetMechanismInfo', 'uu', 'uuu'],
  ['C_InitToken', 'uayz', ''],
  ['C_OpenSession', 'uu', 'u'],
  ['C_CloseSession', 'u', ''],
  ['C_CloseAllSessions', 'u', ''],
  ['C_GetSessionInfo', 'u', 'uuuu'],
  ['C_InitPIN', 'uay', ''],
  ['C_SetPIN', 'uayay', ''],
  ['C_GetOperationState', 'ufy', 'ay'],
  ['C_SetOperationState', 'uayuu', ''],
  ['C_Login', 'uuay', ''],
  ['C_Logout', 'u', ''],
  ['C_CreateObject', 'uaA', 'u'],
  ['C_CopyObject', 'uuaA', 'u'],
  ['C_DestroyObject', 'uu', ''],
  ['C_GetObjectSize', 'uu', 'u'],
  ['C_GetAttributeValue', 'uufA', 'aAu'],
  ['C_SetAttributeValue', 'uuaA', ''],
  ['C_FindObjectsInit', 'uaA', ''],
  ['C_FindObjects', 'ufu', 'au'],
  ['C_FindObjectsFinal', 'u', ''],
  ['C_EncryptInit', 'uMu', ''],
  ['C_Encrypt', 'uayfy', 'ay'],
  ['C_EncryptUpdate', 'uayfy', 'ay'],
  ['C_EncryptFinal', 'ufy', 'ay'],
  ['C_DecryptInit', 'uMu', ''],
  ['C_Decrypt', 'uayfy', 'ay'],
  ['C_DecryptUpdate', 'uayfy', 'ay'],
  ['C_DecryptFinal', 'ufy', 'ay'],
  ['C_DigestInit', 'uM', ''],
  ['C_Digest', 'uayfy', 'ay'],
  ['C_DigestUpdate', 'uay', ''],
  ['C_DigestKey', 'uu', ''],
  ['C_DigestFinal', 'ufy', 'ay'],
  ['C_SignInit', 'uMu', ''],
  ['C_Sign', 'uayfy', 'ay'],
  ['C_SignUpdate', 'uay', ''],
  ['C_SignFinal', 'ufy', 'ay'],
  ['C_SignRecoverInit', 'uMu', ''],
  ['C_SignRecover', 'uayfy', 'ay'],
  ['C_VerifyInit', 'uMu', ''],
  ['C_Verify', 'uayay', ''],
  ['C_VerifyUpdate', 'uay', ''],
  ['C_VerifyFinal', 'uay', ''],
  ['C_VerifyRecoverInit', 'uMu', ''],
  ['C_VerifyRecover', 'uayfy', 'ay'],
  ['C_DigestEncryptUpdate', 'uayfy', 'ay'],
  ['C_DecryptDigestUpdate', 'uayfy', 'ay'],
  ['C_SignEncryptUpdate', 'uayfy', 'ay'],
  ['C_DecryptVerifyUpdate', 'uayfy', 'ay'],
  ['C_GenerateKey', 'uMaA', 'u'],
  ['C_GenerateKeyPair', 'uMaAaA', 'uu'],
  ['C_WrapKey', 'uMuufy', 'ay'],
  ['C_UnwrapKey', 'uMuayaA', 'u'],
  ['C_DeriveKey', 'uMuaA', 'u'],
  ['C_SeedRandom', 'uay', ''],
  ['C_GenerateRandom', 'ufy', 'ay'],
  ['C_WaitForSlotEvent', 'u', 'u'],
  ['C_LoginUser', 'uuayay', ''],
  ['C_SessionCancel', 'uu', ''],
  ['C_MessageEncryptInit', 'uMu', ''],
  ['C_EncryptMessage', 'uayayayfy', 'ay'],
  ['C_EncryptMessageBegin', 'uayay', ''],
  ['C_EncryptMessageNext', 'uayayfyu', 'ay'],
  ['C_MessageEncryptFinal', 'u', ''],
  ['C_MessageDecryptInit', 'uMu', ''],
  ['C_DecryptMessage', 'uayayayfy', 'ay'],
  ['C_DecryptMessageBegin', 'uayay', ''],
  ['C_DecryptMessageNext', 'uayayfyu', 'ay'],
  ['C_MessageDecryptFinal', 'u', ''],
  ['C_MessageSignInit', 'uMu', ''],
  ['C_SignMessage', 'uayayfy', 'ay'],
  ['C_SignMessageBegin', 'uay', ''],
  ['C_SignMessageNext', 'uayayyfy', 'ay'],
  ['C_MessageSignFinal', 'u', ''],
  ['C_MessageVerifyInit', 'uMu', ''],
  ['C_VerifyMessage', 'uayayay', ''],
  ['C_VerifyMessageBegin', 'uay', ''],
  ['C_VerifyMessageNext', 'uayayay', ''],
  ['C_MessageVerifyFinal', 'u', ''],
  ['C_InitToken2', 'uays', ''],
  ['C_DeriveKey2', 'uMuaA', 'uPu'],
];

export const CALLS: readonly CallSpec[] = TABLE.map(([name, request, reply], id) => ({
  id,
  name,
  request,
  reply,
}));

/** Call ids used by name in the dispatcher. */
export const CALL_ERROR = 0;
export const CALL_ID: Readonly<Record<string, number>> = Object.fromEntries(
  CALLS.map((c) => [c.name, c.id]),
);
