import { encodePng } from "./png";

type Rgb = readonly [number, number, number];

const BRAND: Rgb = [0x7a, 0x3e, 0x00];
const CREAM: Rgb = [0xfa, 0xf7, 0xf2];

function clamp01(value: number): number {
  return Math.max(0, Math.min(1, value));
}

/**
 * Draws the ICUPA icon: a cream plate on the brand colour. `maskable` fills the
 * whole square and keeps the plate inside the central safe zone; the plain icon
 * uses a rounded square with transparent corners.
 */
export function drawIcon(size: number, maskable: boolean): Uint8Array {
  const pixels = new Uint8Array(size * size * 4);
  const centre = size / 2;
  const cornerRadius = size * 0.22;
  const plateOuter = size * (maskable ? 0.3 : 0.36);
  const plateInner = plateOuter * 0.72;
  const ringWidth = plateOuter * 0.08;
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      const px = x + 0.5;
      const py = y + 0.5;
      // Signed distance to the rounded square's edge (negative inside).
      const qx = Math.abs(px - centre) - (centre - cornerRadius);
      const qy = Math.abs(py - centre) - (centre - cornerRadius);
      const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - cornerRadius;
      const backgroundAlpha = maskable ? 1 : clamp01(0.5 - outside);
      const distance = Math.hypot(px - centre, py - centre);
      const onPlate = clamp01(plateOuter - distance + 0.5);
      const onRing = clamp01(0.5 - Math.abs(distance - plateInner) + ringWidth / 2);
      const plate = onPlate * (1 - onRing * 0.6);
      const offset = (y * size + x) * 4;
      for (let channel = 0; channel < 3; channel += 1) {
        const brand = BRAND[channel] as number;
        const cream = CREAM[channel] as number;
        pixels[offset + channel] = Math.round(brand + (cream - brand) * plate);
      }
      pixels[offset + 3] = Math.round(255 * backgroundAlpha);
    }
  }
  return pixels;
}

export interface IconFile {
  fileName: string;
  size: number;
  png: Buffer;
}

export function buildIcons(): IconFile[] {
  const specs: Array<[string, number, boolean]> = [
    ["icons/icon-192.png", 192, false],
    ["icons/icon-512.png", 512, false],
    ["icons/icon-maskable-512.png", 512, true],
  ];
  return specs.map(([fileName, size, maskable]) => ({ fileName, size, png: encodePng(size, size, drawIcon(size, maskable)) }));
}
