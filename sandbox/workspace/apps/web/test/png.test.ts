import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildIcons, drawIcon } from "../tooling/icons";
import { crc32, encodePng, PNG_SIGNATURE } from "../tooling/png";

interface Chunk {
  type: string;
  data: Buffer;
  crcOk: boolean;
}

function readChunks(png: Buffer): Chunk[] {
  const chunks: Chunk[] = [];
  let offset = PNG_SIGNATURE.length;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString("latin1", offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    const crc = png.readUInt32BE(offset + 8 + length);
    chunks.push({ type, data, crcOk: crc === crc32(png.subarray(offset + 4, offset + 8 + length)) });
    offset += 12 + length;
  }
  return chunks;
}

describe("crc32", () => {
  it("matches the standard check value", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
  });
});

describe("encodePng", () => {
  it("writes a valid PNG whose pixels decode back", () => {
    const rgba = new Uint8Array([255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 9, 9, 9, 9]);
    const png = encodePng(2, 2, rgba);
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    const chunks = readChunks(png);
    expect(chunks.map((chunk) => chunk.type)).toEqual(["IHDR", "IDAT", "IEND"]);
    expect(chunks.every((chunk) => chunk.crcOk)).toBe(true);
    const header = chunks[0]?.data as Buffer;
    expect([header.readUInt32BE(0), header.readUInt32BE(4), header[8], header[9]]).toEqual([2, 2, 8, 6]);
    const raw = inflateSync(chunks[1]?.data as Buffer);
    expect([...raw]).toEqual([0, ...rgba.slice(0, 8), 0, ...rgba.slice(8)]);
  });

  it("rejects bad sizes and pixel buffers", () => {
    expect(() => encodePng(0, 1, new Uint8Array(0))).toThrow("invalid PNG size");
    expect(() => encodePng(2, 2, new Uint8Array(3))).toThrow("expected 16 bytes");
  });
});

describe("icons", () => {
  it("draws an opaque maskable icon and a rounded icon with transparent corners", () => {
    const plain = drawIcon(64, false);
    const maskable = drawIcon(64, true);
    expect(plain[3]).toBe(0); // top-left corner is outside the rounded square
    expect(maskable[3]).toBe(255);
    const centre = (32 * 64 + 32) * 4;
    expect(plain[centre]).toBeGreaterThan(240); // cream plate in the middle
  });

  it("builds the three manifest icons at their declared sizes", () => {
    const icons = buildIcons();
    expect(icons.map((icon) => [icon.fileName, icon.size])).toEqual([
      ["icons/icon-192.png", 192],
      ["icons/icon-512.png", 512],
      ["icons/icon-maskable-512.png", 512],
    ]);
    for (const icon of icons) {
      const header = readChunks(icon.png)[0]?.data as Buffer;
      expect(header.readUInt32BE(0)).toBe(icon.size);
    }
  });
});
