/**
 * Sector-level I/O of the flash PAL: programs every record data-first and commit-last, reads each write
 * back (a program the chip silently dropped counts as a failure), erases with verification, and answers
 * whether a record still fits a sector. The sector bookkeeping (SectorState) is updated here as bytes are
 * consumed; which sector to use is flash-gc.ts's decision.
 * @module
 */
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR } from '../../pkcs11/constants.js';
import { crc32 } from '../../util/crc32.js';
import { type FlashDevice, FlashIoError } from './flash-device.js';
import {
  alignUp,
  ENTRY_GC_DONE,
  type EntryFields,
  encodeEntry,
  encodeHeader,
  type Layout,
  type SectorHeader,
  slotOffset,
} from './format.js';
import type { EntryRec, SectorRef, SectorState } from './mount.js';
import { correctBytes } from './salvage.js';

export function payloadLen(e: EntryFields): number {
  return e.labelLen + e.valueLen;
}

export class SectorIo {
  readonly #dev: FlashDevice;
  readonly #layout: Layout;

  constructor(device: FlashDevice, layout: Layout) {
    this.#dev = device;
    this.#layout = layout;
  }

  /** Whether a record of `payloadLength` bytes fits `s` now, keeping one slot free. */
  fits(s: SectorState, payloadLength: number): boolean {
    if (s.state !== 'used' || s.closed) return false;
    // One slot stays free in every sector, so a sector's live entries plus a GC marker always fit in
    // a fresh sector.
    return s.dataEnd + alignUp(payloadLength, this.#layout.writeSize) <= this.freeLimit(s, 1);
  }

  /** Where data must end so that `slots` more entries, plus the reserved one, still fit in `s`. */
  freeLimit(s: SectorState, slots: number): number {
    return slotOffset(this.#layout, s.slotsUsed + slots);
  }

  /** Bytes one record takes: data padded to the write size, plus its entry slot. */
  footprint(payloadLength: number): number {
    return alignUp(payloadLength, this.#layout.writeSize) + this.#layout.slot;
  }

  /**
   * The label and value bytes of a committed entry, for a copy: one flipped bit in either is put right
   * (the copy heals it); anything worse is copied as it is, still failing its CRC.
   */
  readPayload(e: EntryRec): Uint8Array {
    const at = e.sector * this.#layout.sectorSize + e.dataOffset;
    const label = this.#dev.read(at, e.labelLen);
    const value = this.#dev.read(at + e.labelLen, e.valueLen);
    const out = new Uint8Array(payloadLen(e));
    out.set(crc32(label) === e.labelCrc ? label : (correctBytes(label, e.labelCrc) ?? label));
    out.set(this.#checked(value, e.valueCrc) ?? value, e.labelLen);
    return out;
  }

  /**
   * The stored value of a committed object, one flipped bit put right; CKR_DEVICE_ERROR when it fails
   * its CRC beyond that (wrong bytes are never returned).
   */
  readValue(rec: EntryRec): { value: Uint8Array; fixed: boolean } {
    const at = rec.sector * this.#layout.sectorSize + rec.dataOffset + rec.labelLen;
    const value = this.#dev.read(at, rec.valueLen);
    const good = this.#checked(value, rec.valueCrc);
    if (!good) {
      value.fill(0);
      throw new Pkcs11Error(CKR_DEVICE_ERROR, `flash object "${rec.label}" fails its CRC`);
    }
    return { value: good, fixed: good !== value };
  }

  /** Whether a value reads only thanks to a corrected bit (an unreadable one is left as it is). */
  valueFixed(rec: EntryRec): boolean {
    try {
      return this.readValue(rec).fixed;
    } catch {
      return false;
    }
  }

  #checked(value: Uint8Array, crc: number): Uint8Array | undefined {
    return crc32(value) === crc ? value : correctBytes(value, crc);
  }

  writeHeader(s: SectorState, header: SectorHeader): void {
    this.#program(s, s.index * this.#layout.sectorSize, encodeHeader(this.#layout, header));
  }

  /** Programs data, then the commit entry, verifying both; the space is consumed even on failure. */
  writeRecord(s: SectorState, label: string, f: EntryFields, payload: Uint8Array): EntryRec {
    const { sectorSize, writeSize } = this.#layout;
    const base = s.index * sectorSize;
    const dataOffset = s.dataEnd;
    const padded = new Uint8Array(alignUp(payload.length, writeSize)).fill(0xff);
    padded.set(payload);
    s.dataEnd += padded.length;
    const slot = s.slotsUsed++;
    if (padded.length > 0) this.#program(s, base + dataOffset, padded);
    const fields = { ...f, dataOffset };
    const at = base + slotOffset(this.#layout, slot);
    this.#program(s, at, encodeEntry(this.#layout, fields, s.seq));
    const rec: EntryRec = { ...fields, sector: s.index, slot, label };
    s.entries.push(rec);
    return rec;
  }

  /** Records in `dest` that the sector `collected` is garbage collected: it may be erased after this. */
  writeMarker(collected: SectorRef, dest: SectorState): void {
    const marker: EntryFields = {
      type: ENTRY_GC_DONE,
      flags: 0,
      labelLen: 0,
      dataOffset: collected.index,
      valueLen: 0,
      labelCrc: collected.seq,
      valueCrc: 0,
      seq: 0,
    };
    const at = dest.index * this.#layout.sectorSize + slotOffset(this.#layout, dest.slotsUsed++);
    this.#program(dest, at, encodeEntry(this.#layout, marker, dest.seq));
    dest.markers.push({ index: collected.index, seq: collected.seq });
  }

  /** Erases a sector and checks it reads erased; false when the chip failed (silently or not). */
  erase(s: SectorState): boolean {
    const { sectorSize } = this.#layout;
    try {
      this.#dev.erase(s.index);
      return this.#dev.isErased(s.index * sectorSize, sectorSize);
    } catch (e) {
      if (!(e instanceof FlashIoError)) throw e;
      return false;
    }
  }

  #program(s: SectorState, address: number, bytes: Uint8Array): void {
    this.#dev.program(address, bytes);
    const back = this.#dev.read(address, bytes.length);
    if (!back.every((b, i) => b === bytes[i])) throw new FlashIoError('program', s.index);
  }
}
