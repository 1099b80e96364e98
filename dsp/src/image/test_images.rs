//! Test images built in the tests: real encoded JPEGs, hand-assembled PNGs, and hostile
//! headers. Nothing is downloaded.

use std::io::Write;

use super::{RgbImage, encode_jpeg};

/// A 64x48 picture with gradients and a bright square, so a decode error shows.
pub fn picture(width: usize, height: usize) -> RgbImage {
    let mut image = RgbImage::filled(width, height, [0, 0, 0]);
    for y in 0..height {
        for x in 0..width {
            let i = (y * width + x) * 3;
            let square =
                (width / 4..width / 2).contains(&x) && (height / 4..height / 2).contains(&y);
            image.data[i] = (x * 255 / width.max(1)) as u8;
            image.data[i + 1] = (y * 255 / height.max(1)) as u8;
            image.data[i + 2] = if square { 240 } else { 60 };
        }
    }
    image
}

/// A real JPEG of [`picture`].
pub fn jpeg(width: usize, height: usize) -> Vec<u8> {
    encode_jpeg(&picture(width, height), 90).expect("encodable test picture")
}

/// A JPEG of another colour type (grey, CMYK) from `jpeg-encoder`.
pub fn jpeg_of(data: &[u8], width: u16, height: u16, colour: jpeg_encoder::ColorType) -> Vec<u8> {
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, 95)
        .encode(data, width, height, colour)
        .expect("encodable test image");
    bytes
}

/// SOI and a frame header only: what a hostile file needs to claim a size or a coding.
pub fn jpeg_sof_header(sof: u8, precision: u8, width: u16, height: u16, components: u8) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xC0 + sof];
    let length = 8 + 3 * u16::from(components);
    bytes.extend(length.to_be_bytes());
    bytes.push(precision);
    bytes.extend(height.to_be_bytes());
    bytes.extend(width.to_be_bytes());
    bytes.push(components);
    for id in 1..=components {
        bytes.extend([id, 0x11, 0]);
    }
    bytes
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend(kind);
    out.extend(data);
    out.extend(crc.sum().to_be_bytes());
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("in-memory write");
    encoder.finish().expect("in-memory write")
}

/// A PNG whose IHDR says `width` x `height`, `depth` and `colour`, with `idat` (the
/// uncompressed filtered scanlines) deflated, and an optional PLTE.
pub fn png_raw(
    width: u32,
    height: u32,
    depth: u8,
    colour: u8,
    palette: Option<&[u8]>,
    scanlines: &[u8],
) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([depth, colour, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    if let Some(palette) = palette {
        chunk(&mut out, b"PLTE", palette);
    }
    chunk(&mut out, b"IDAT", &zlib(scanlines));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A valid PNG of `rows` (each row's raw bytes; filter type 0 is prepended).
pub fn png(width: u32, depth: u8, colour: u8, palette: Option<&[u8]>, rows: &[Vec<u8>]) -> Vec<u8> {
    let scanlines: Vec<u8> = rows
        .iter()
        .flat_map(|row| std::iter::once(0).chain(row.iter().copied()))
        .collect();
    png_raw(width, rows.len() as u32, depth, colour, palette, &scanlines)
}

/// A PNG bomb: a small file whose IDAT inflates to `inflated` zero bytes while IHDR claims
/// `width` x `height` grey pixels.
pub fn png_bomb(width: u32, height: u32, inflated: usize) -> Vec<u8> {
    png_raw(width, height, 8, 0, None, &vec![0; inflated])
}
