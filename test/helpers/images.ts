// Test images made on the spot with sharp: a photo-like JPEG (gradients and noise, so encoders have
// real work), a PNG with transparency, and bytes that claim to be a JPEG but are not one.
import sharp from 'sharp';

/** A JPEG of width × height with smooth gradients and a little deterministic noise. */
export async function photo(width: number, height: number, seed = 1): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let r = seed * 2654435761;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      r = (r * 1103515245 + 12345) >>> 0;
      const noise = (r >>> 24) % 24;
      const i = (y * width + x) * 3;
      raw[i] = ((x * 255) / width + noise) & 255;
      raw[i + 1] = ((y * 255) / height + noise) & 255;
      raw[i + 2] = (128 + 100 * Math.sin((x + y + seed * 40) / 60)) & 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

/** A PNG with an alpha channel: a translucent disc on a transparent square. */
export async function transparentPng(size: number): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><circle cx="${size / 2}" cy="${size / 2}" r="${size / 3}" fill="#3a7" fill-opacity="0.6"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** A JPEG's first bytes and then garbage: a file a blogger's sync cut short. */
export async function corruptJpeg(): Promise<Buffer> {
  const good = await photo(400, 300, 9);
  return Buffer.concat([good.subarray(0, 600), Buffer.alloc(2000, 0x5a)]);
}
