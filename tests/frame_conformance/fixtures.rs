//! Test inputs built in the tests (nothing is downloaded): JPEG and PNG files, hostile headers
//! and bombs, and YUV4MPEG2 files.

use std::io::Write;
use std::path::{Path, PathBuf};

use percept_dsp::RgbImage;
use percept_dsp::image::encode_jpeg;

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perceptd-frames-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A picture with gradients and a square whose place depends on `n`, so frames differ.
pub fn picture(width: usize, height: usize, n: usize) -> RgbImage {
    let mut image = RgbImage::filled(width, height, [0, 0, 0]);
    let side = width.min(height) / 4;
    let left = (n * 7) % (width - side);
    for y in 0..height {
        for x in 0..width {
            let i = (y * width + x) * 3;
            let inside = (left..left + side).contains(&x) && (side..2 * side).contains(&y);
            image.data[i] = (x * 255 / width) as u8;
            image.data[i + 1] = (y * 255 / height) as u8;
            image.data[i + 2] = if inside { 250 } else { 40 };
        }
    }
    image
}

/// A real JPEG.
pub fn jpeg(image: &RgbImage) -> Vec<u8> {
    encode_jpeg(image, 90).expect("encodable")
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

/// A PNG whose IHDR claims `width` x `height` 8-bit pixels of `colour` type, with `scanlines`
/// (filter bytes included) deflated as its IDAT.
pub fn png_raw(width: u32, height: u32, colour: u8, scanlines: &[u8]) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, colour, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    zlib.write_all(scanlines).expect("in memory");
    chunk(&mut out, b"IDAT", &zlib.finish().expect("in memory"));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A valid 8-bit RGB PNG of `image`.
pub fn png(image: &RgbImage) -> Vec<u8> {
    let scanlines: Vec<u8> = image
        .data
        .chunks_exact(image.width * 3)
        .flat_map(|row| std::iter::once(0).chain(row.iter().copied()))
        .collect();
    png_raw(image.width as u32, image.height as u32, 2, &scanlines)
}

/// A 0x0 PNG.
pub fn png_zero() -> Vec<u8> {
    png_raw(0, 0, 2, &[])
}

/// A PNG bomb: claims 16x16 grey, and its small IDAT inflates to 64 MiB.
pub fn png_bomb() -> Vec<u8> {
    png_raw(16, 16, 0, &vec![0; 64 << 20])
}

/// A small PNG claiming 60000x60000.
pub fn png_huge_claim() -> Vec<u8> {
    png_raw(60000, 60000, 0, &vec![0; 1 << 20])
}

/// SOI and a frame header: enough to claim a size or a coding.
pub fn jpeg_sof_header(sof: u8, precision: u8, width: u16, height: u16) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xC0 + sof, 0, 17, precision];
    bytes.extend(height.to_be_bytes());
    bytes.extend(width.to_be_bytes());
    bytes.push(3);
    for id in 1..=3 {
        bytes.extend([id, 0x11, 0]);
    }
    bytes
}

/// BT.601 limited-range I420 planes for `image` (the test's own encoder; the source's decode
/// is compared with dsp's conversion of these same bytes).
pub fn i420(image: &RgbImage) -> Vec<u8> {
    let (w, h) = (image.width, image.height);
    let luma = |p: [u8; 3]| {
        let [r, g, b] = p.map(f64::from);
        (16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0).round() as u8
    };
    let chroma = |p: [u8; 3]| {
        let [r, g, b] = p.map(f64::from);
        let cb = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0;
        let cr = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0;
        (cb.round() as u8, cr.round() as u8)
    };
    let mut out: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| luma(image.pixel(x, y)))
        .collect();
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let samples: Vec<(u8, u8)> = (0..ch)
        .flat_map(|y| (0..cw).map(move |x| (x, y)))
        .map(|(x, y)| chroma(image.pixel(x * 2, y * 2)))
        .collect();
    out.extend(samples.iter().map(|s| s.0));
    out.extend(samples.iter().map(|s| s.1));
    out
}

/// Writes a YUV4MPEG2 file of `frames` at `fps`.
pub fn write_y4m(path: &Path, frames: &[RgbImage], fps: u32) {
    let (w, h) = (frames[0].width, frames[0].height);
    let mut bytes = format!("YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n").into_bytes();
    for frame in frames {
        bytes.extend(b"FRAME\n");
        bytes.extend(i420(frame));
    }
    std::fs::write(path, bytes).expect("write y4m");
}
