//! Antialiased resize of [`RgbImage`]s that reproduces Pillow's `Image.resize` for 8-bit RGB
//! (`ImagingResample`) bit for bit.
//!
//! The algorithm, as Pillow runs it for `BICUBIC` (and `BILINEAR`):
//! - Two separable passes, horizontal first. A pass is skipped when its axis keeps its size
//!   (Pillow's `need_horizontal` / `need_vertical` with the default full-image box); the
//!   horizontal pass only runs on the source rows that the vertical pass reads.
//! - Per axis, `scale = in / out` and `filterscale = max(scale, 1)`: when downscaling, the filter
//!   is stretched by `filterscale`, so its support grows and it antialiases.
//! - Output index `i` is centred at `(i + 0.5) * scale`; its window runs from
//!   `trunc(center - support + 0.5)` to `trunc(center + support + 0.5)`, clamped to the input.
//!   Tap `j` weighs `filter((j - center + 0.5) / filterscale)`, and the window is normalised to
//!   sum to 1.
//! - Weights become fixed point with [`PRECISION_BITS`] fraction bits (rounded half away from
//!   zero); each sum starts at `1 << (PRECISION_BITS - 1)` (rounding) and is shifted back and
//!   clipped to `0..=255` after *each* pass.
//!
//! Coefficient tables only cover the output pixels that are asked for (see [`Region`]): resizing
//! to a large size and cropping costs only the crop, and gives the same bytes as a full resize
//! followed by a crop.

use thiserror::Error;

use super::RgbImage;

/// Fraction bits of the fixed-point weights: 32 bits minus 8 for the pixel value and 2 for the
/// headroom that negative filter lobes need (Pillow's `PRECISION_BITS`).
pub const PRECISION_BITS: u32 = 32 - 8 - 2;

/// The interpolation filter of a resize (Pillow's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interpolation {
    /// Triangle filter, support 1 (`Image.BILINEAR`).
    Bilinear,
    /// Keys cubic convolution with `a = -0.5`, support 2 (`Image.BICUBIC`).
    Bicubic,
}

impl Interpolation {
    /// Half-width of the filter in input pixels before any downscale stretching.
    pub fn support(self) -> f64 {
        match self {
            Interpolation::Bilinear => 1.0,
            Interpolation::Bicubic => 2.0,
        }
    }

    /// The filter's weight at distance `x`.
    pub fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Interpolation::Bilinear => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Interpolation::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

/// A rectangle of the resized image: the part of the output that is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Left column in the resized image.
    pub x: usize,
    /// Top row in the resized image.
    pub y: usize,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

impl Region {
    /// The whole of a `width` x `height` image.
    pub fn full(width: usize, height: usize) -> Self {
        Self {
            x: 0,
            y: 0,
            width,
            height,
        }
    }
}

/// Why a resize was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResizeError {
    /// The source image has no pixels.
    #[error("source image must be at least 1x1, got {width}x{height}")]
    EmptySource {
        /// Source width.
        width: usize,
        /// Source height.
        height: usize,
    },
    /// The source's data does not hold `width * height * 3` bytes.
    #[error("source data must be width * height * 3 = {expected} bytes, got {actual}")]
    SourceLength {
        /// `width * height * 3` (saturating).
        expected: usize,
        /// `data.len()`.
        actual: usize,
    },
    /// The requested output size has no pixels.
    #[error("output size must be at least 1x1, got {width}x{height}")]
    EmptyOutput {
        /// Requested width.
        width: usize,
        /// Requested height.
        height: usize,
    },
    /// The region is empty or does not lie inside the resized image.
    #[error(
        "region must be non-empty and inside the {out_width}x{out_height} output, got {region:?}"
    )]
    RegionOutside {
        /// The region asked for.
        region: Region,
        /// Output width.
        out_width: usize,
        /// Output height.
        out_height: usize,
    },
    /// The destination slice does not hold `region.width * region.height * 3` bytes.
    #[error("destination must be region width * height * 3 = {expected} bytes, got {actual}")]
    DestinationLength {
        /// `region.width * region.height * 3`.
        expected: usize,
        /// The slice's length.
        actual: usize,
    },
}

/// Fixed-point weights for one axis (in size -> out size), for output indices
/// `first..first + count`.
#[derive(Debug, Clone, PartialEq)]
struct AxisTable {
    key: AxisKey,
    /// Taps per output index (the stride of `weights`).
    ksize: usize,
    /// Per output index: first input index and number of taps.
    bounds: Vec<(usize, usize)>,
    /// `count * ksize` weights, `ksize` per output index, zero beyond its taps.
    weights: Vec<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AxisKey {
    filter: Interpolation,
    in_size: usize,
    out_size: usize,
    first: usize,
    count: usize,
}

impl AxisTable {
    fn new(key: AxisKey) -> Self {
        let scale = key.in_size as f64 / key.out_size as f64;
        let filterscale = scale.max(1.0);
        let support = key.filter.support() * filterscale;
        let ksize = support.ceil() as usize * 2 + 1;
        let inv = 1.0 / filterscale;
        let mut bounds = Vec::with_capacity(key.count);
        let mut weights = vec![0_i32; key.count * ksize];
        let mut window = vec![0.0_f64; ksize];
        for (n, row) in weights.chunks_exact_mut(ksize).enumerate() {
            let center = (key.first + n) as f64 + 0.5;
            let center = center * scale;
            // `as` truncates toward zero like C's (int) cast; negatives are clamped anyway.
            let start = ((center - support + 0.5) as i64).max(0) as usize;
            let end = ((center + support + 0.5) as i64).clamp(0, key.in_size as i64) as usize;
            let taps = end.saturating_sub(start).min(ksize);
            let mut total = 0.0;
            for (t, w) in window[..taps].iter_mut().enumerate() {
                *w = key.filter.weight(((start + t) as f64 - center + 0.5) * inv);
                total += *w;
            }
            for (w, fixed) in window[..taps].iter().zip(row.iter_mut()) {
                let w = if total != 0.0 { w / total } else { *w };
                *fixed = to_fixed(w);
            }
            bounds.push((start, taps));
        }
        Self {
            key,
            ksize,
            bounds,
            weights,
        }
    }

    /// True when the axis keeps its size: Pillow skips the pass and copies.
    fn is_identity(&self) -> bool {
        self.key.in_size == self.key.out_size
    }

    /// The input range that the table's outputs read: `(first, end)`.
    fn input_span(&self) -> (usize, usize) {
        let first = self.bounds.first().map_or(0, |b| b.0);
        let end = self.bounds.last().map_or(0, |b| b.0 + b.1);
        (first, end)
    }

    fn taps(&self, n: usize) -> (usize, &[i32]) {
        let (start, taps) = self.bounds[n];
        (start, &self.weights[n * self.ksize..n * self.ksize + taps])
    }
}

/// A weight in `[-1, 1]`-ish as fixed point, rounded half away from zero.
fn to_fixed(w: f64) -> i32 {
    let scaled = w * f64::from(1_u32 << PRECISION_BITS);
    if w < 0.0 {
        (scaled - 0.5) as i32
    } else {
        (scaled + 0.5) as i32
    }
}

/// Back from fixed point to a byte, clipped to `0..=255`.
///
/// No overflow: weights are normalised, so the positive ones of a window sum to under 1.2
/// (the bicubic negative lobes are small), and `255 * 1.2 * 2^22 + 2^21 < 2^31`.
#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

const ROUNDING: i32 = 1 << (PRECISION_BITS - 1);

/// A reusable resizer: keeps its coefficient tables for the last (size, region) it saw and its
/// scratch buffers, so resizing frames of one size again allocates nothing.
#[derive(Debug, Clone)]
pub struct Resizer {
    filter: Interpolation,
    horizontal: Option<AxisTable>,
    vertical: Option<AxisTable>,
    /// Horizontal pass output: the rows the vertical pass reads, `region.width * 3` bytes each.
    temp: Vec<u8>,
    /// One output row of i32 sums for the vertical pass.
    acc: Vec<i32>,
    allocations: u64,
}

impl Resizer {
    /// A resizer with the given filter and nothing precomputed yet.
    pub fn new(filter: Interpolation) -> Self {
        Self {
            filter,
            horizontal: None,
            vertical: None,
            temp: Vec::new(),
            acc: Vec::new(),
            allocations: 0,
        }
    }

    /// The filter this resizer uses.
    pub fn filter(&self) -> Interpolation {
        self.filter
    }

    /// How many times a coefficient table was built or a scratch buffer grew. It stays put
    /// while the source size, output size and region repeat: the no-allocation check for tests.
    pub fn allocations(&self) -> u64 {
        self.allocations
    }

    /// Resizes `src` to `out_width` x `out_height` into a new image (allocating convenience).
    pub fn resize(
        &mut self,
        src: &RgbImage,
        out_width: usize,
        out_height: usize,
    ) -> Result<RgbImage, ResizeError> {
        let mut data = vec![0; out_width.saturating_mul(out_height).saturating_mul(3)];
        self.resize_into(src, out_width, out_height, &mut data)?;
        Ok(RgbImage {
            width: out_width,
            height: out_height,
            data,
        })
    }

    /// Resizes `src` to `out_width` x `out_height`, writing `out_width * out_height * 3` bytes.
    pub fn resize_into(
        &mut self,
        src: &RgbImage,
        out_width: usize,
        out_height: usize,
        dst: &mut [u8],
    ) -> Result<(), ResizeError> {
        self.resize_region_into(
            src,
            out_width,
            out_height,
            Region::full(out_width, out_height),
            dst,
        )
    }

    /// Computes only `region` of `src` resized to `out_width` x `out_height`, writing
    /// `region.width * region.height * 3` bytes (rows top to bottom). The bytes equal those of a
    /// full resize followed by a crop to `region`.
    pub fn resize_region_into(
        &mut self,
        src: &RgbImage,
        out_width: usize,
        out_height: usize,
        region: Region,
        dst: &mut [u8],
    ) -> Result<(), ResizeError> {
        check_source(src)?;
        if out_width == 0 || out_height == 0 {
            return Err(ResizeError::EmptyOutput {
                width: out_width,
                height: out_height,
            });
        }
        let inside = region.width > 0
            && region.height > 0
            && region
                .x
                .checked_add(region.width)
                .is_some_and(|e| e <= out_width)
            && region
                .y
                .checked_add(region.height)
                .is_some_and(|e| e <= out_height);
        if !inside {
            return Err(ResizeError::RegionOutside {
                region,
                out_width,
                out_height,
            });
        }
        let row_bytes = region.width * 3;
        let expected = row_bytes * region.height;
        if dst.len() != expected {
            return Err(ResizeError::DestinationLength {
                expected,
                actual: dst.len(),
            });
        }

        let h_key = AxisKey {
            filter: self.filter,
            in_size: src.width,
            out_size: out_width,
            first: region.x,
            count: region.width,
        };
        let v_key = AxisKey {
            filter: self.filter,
            in_size: src.height,
            out_size: out_height,
            first: region.y,
            count: region.height,
        };
        let horizontal = table_for(&mut self.horizontal, h_key, &mut self.allocations);
        let vertical = table_for(&mut self.vertical, v_key, &mut self.allocations);

        // Source rows that the vertical pass reads (all of the region's rows when it is skipped).
        let (row_first, row_end) = if vertical.is_identity() {
            (region.y, region.y + region.height)
        } else {
            vertical.input_span()
        };
        let temp_len = (row_end - row_first) * row_bytes;
        grow(&mut self.temp, temp_len, 0, &mut self.allocations);
        let temp = &mut self.temp[..temp_len];

        // Horizontal pass (or column copy) into `temp`.
        let src_row_bytes = src.width * 3;
        for (r, out_row) in temp.chunks_exact_mut(row_bytes).enumerate() {
            let src_row = &src.data[(row_first + r) * src_row_bytes..][..src_row_bytes];
            if horizontal.is_identity() {
                out_row.copy_from_slice(&src_row[region.x * 3..region.x * 3 + row_bytes]);
            } else {
                horizontal_row(horizontal, src_row, out_row);
            }
        }

        // Vertical pass (or row copy) into `dst`.
        if vertical.is_identity() {
            dst.copy_from_slice(temp);
            return Ok(());
        }
        grow(&mut self.acc, row_bytes, 0, &mut self.allocations);
        let acc = &mut self.acc[..row_bytes];
        for (n, out_row) in dst.chunks_exact_mut(row_bytes).enumerate() {
            let (start, weights) = vertical.taps(n);
            acc.fill(ROUNDING);
            for (t, &k) in weights.iter().enumerate() {
                let in_row = &temp[(start - row_first + t) * row_bytes..][..row_bytes];
                for (a, &v) in acc.iter_mut().zip(in_row) {
                    *a += i32::from(v) * k;
                }
            }
            for (o, &a) in out_row.iter_mut().zip(acc.iter()) {
                *o = clip8(a);
            }
        }
        Ok(())
    }
}

/// One row of the horizontal pass: `out_row` holds the table's outputs, 3 bytes each.
fn horizontal_row(table: &AxisTable, src_row: &[u8], out_row: &mut [u8]) {
    for (n, out_px) in out_row.chunks_exact_mut(3).enumerate() {
        let (start, weights) = table.taps(n);
        let pixels = &src_row[start * 3..(start + weights.len()) * 3];
        let (mut r, mut g, mut b) = (ROUNDING, ROUNDING, ROUNDING);
        for (px, &k) in pixels.chunks_exact(3).zip(weights) {
            r += i32::from(px[0]) * k;
            g += i32::from(px[1]) * k;
            b += i32::from(px[2]) * k;
        }
        out_px[0] = clip8(r);
        out_px[1] = clip8(g);
        out_px[2] = clip8(b);
    }
}

/// The cached table for `key`, rebuilt (and counted) when the key changed.
fn table_for<'a>(
    slot: &'a mut Option<AxisTable>,
    key: AxisKey,
    allocations: &mut u64,
) -> &'a AxisTable {
    if !slot.as_ref().is_some_and(|t| t.key == key) {
        *allocations += 1;
        *slot = None;
    }
    slot.get_or_insert_with(|| AxisTable::new(key))
}

/// Makes `buf` at least `len` long, counting a (re)allocation when its capacity must grow.
fn grow<T: Copy>(buf: &mut Vec<T>, len: usize, fill: T, allocations: &mut u64) {
    if buf.capacity() < len {
        *allocations += 1;
    }
    if buf.len() < len {
        buf.resize(len, fill);
    }
}

/// Checks that an image has pixels and that its data holds `width * height * 3` bytes.
pub(crate) fn check_source(src: &RgbImage) -> Result<(), ResizeError> {
    if src.width == 0 || src.height == 0 {
        return Err(ResizeError::EmptySource {
            width: src.width,
            height: src.height,
        });
    }
    let expected = src.width.saturating_mul(src.height).saturating_mul(3);
    if src.data.len() != expected {
        return Err(ResizeError::SourceLength {
            expected,
            actual: src.data.len(),
        });
    }
    Ok(())
}

/// Resizes `src` to `out_width` x `out_height` with `filter` (one-shot convenience; keep a
/// [`Resizer`] to reuse tables and buffers across frames).
pub fn resize(
    src: &RgbImage,
    out_width: usize,
    out_height: usize,
    filter: Interpolation,
) -> Result<RgbImage, ResizeError> {
    Resizer::new(filter).resize(src, out_width, out_height)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: usize, height: usize) -> RgbImage {
        let mut data = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                data.extend_from_slice(&[
                    (x * 255 / width.max(2).saturating_sub(1).max(1)) as u8,
                    (y * 37 % 256) as u8,
                    ((x * 13 + y * 7) % 256) as u8,
                ]);
            }
        }
        RgbImage {
            width,
            height,
            data,
        }
    }

    #[test]
    fn constant_image_stays_constant_after_any_resize() {
        let src = RgbImage::filled(37, 23, [200, 3, 128]);
        for filter in [Interpolation::Bicubic, Interpolation::Bilinear] {
            for (w, h) in [(5, 3), (37, 10), (100, 70), (1, 1), (224, 224)] {
                let out = resize(&src, w, h, filter).unwrap();
                assert!(
                    out.data.chunks_exact(3).all(|p| p == [200, 3, 128]),
                    "{filter:?} {w}x{h}"
                );
            }
        }
    }

    #[test]
    fn resize_to_the_same_size_is_identity() {
        let src = gradient(31, 17);
        for filter in [Interpolation::Bicubic, Interpolation::Bilinear] {
            assert_eq!(resize(&src, 31, 17, filter).unwrap(), src);
        }
    }

    #[test]
    fn a_region_equals_the_same_crop_of_a_full_resize() {
        let src = gradient(64, 48);
        let full = resize(&src, 40, 30, Interpolation::Bicubic).unwrap();
        let region = Region {
            x: 7,
            y: 5,
            width: 20,
            height: 11,
        };
        let mut part = vec![0; 20 * 11 * 3];
        Resizer::new(Interpolation::Bicubic)
            .resize_region_into(&src, 40, 30, region, &mut part)
            .unwrap();
        for y in 0..11 {
            for x in 0..20 {
                let p = full.pixel(x + 7, y + 5);
                assert_eq!(&part[(y * 20 + x) * 3..][..3], &p, "at {x},{y}");
            }
        }
    }

    #[test]
    fn resizing_the_same_sizes_again_allocates_nothing() {
        let src = gradient(64, 48);
        let mut resizer = Resizer::new(Interpolation::Bicubic);
        let mut out = vec![0; 30 * 20 * 3];
        resizer.resize_into(&src, 30, 20, &mut out).unwrap();
        let warmed = resizer.allocations();
        assert!(warmed > 0);
        resizer.resize_into(&src, 30, 20, &mut out).unwrap();
        assert_eq!(resizer.allocations(), warmed);
        resizer
            .resize_into(&src, 31, 20, &mut vec![0; 31 * 20 * 3])
            .unwrap();
        assert!(
            resizer.allocations() > warmed,
            "a new width rebuilds a table"
        );
    }

    #[test]
    fn bad_sizes_are_errors_that_state_the_rule() {
        let mut resizer = Resizer::new(Interpolation::Bicubic);
        let empty = RgbImage::default();
        let err = resizer.resize(&empty, 4, 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "source image must be at least 1x1, got 0x0"
        );
        let short = RgbImage {
            width: 2,
            height: 2,
            data: vec![0; 11],
        };
        let err = resizer.resize(&short, 4, 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "source data must be width * height * 3 = 12 bytes, got 11"
        );
        let src = RgbImage::filled(2, 2, [1, 2, 3]);
        assert!(matches!(
            resizer.resize(&src, 0, 4),
            Err(ResizeError::EmptyOutput { .. })
        ));
        let err = resizer.resize_into(&src, 4, 4, &mut [0; 5]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "destination must be region width * height * 3 = 48 bytes, got 5"
        );
        let outside = Region {
            x: 3,
            y: 0,
            width: 2,
            height: 1,
        };
        assert!(matches!(
            resizer.resize_region_into(&src, 4, 4, outside, &mut [0; 6]),
            Err(ResizeError::RegionOutside { .. })
        ));
    }

    #[test]
    fn positive_weights_of_every_window_stay_under_the_overflow_bound() {
        // clip8's no-overflow argument needs the positive fixed-point weights of a window to sum
        // to under 1.2 (so 255 * sum + rounding < 2^31).
        let bound = (1.2 * f64::from(1_u32 << PRECISION_BITS)) as i64;
        for filter in [Interpolation::Bicubic, Interpolation::Bilinear] {
            for in_size in [1, 2, 3, 5, 17, 224, 480, 641] {
                for out_size in [1, 2, 3, 7, 224, 298, 1000] {
                    let table = AxisTable::new(AxisKey {
                        filter,
                        in_size,
                        out_size,
                        first: 0,
                        count: out_size,
                    });
                    for n in 0..out_size {
                        let positive: i64 = table
                            .taps(n)
                            .1
                            .iter()
                            .filter(|&&k| k > 0)
                            .map(|&k| i64::from(k))
                            .sum();
                        assert!(positive < bound, "{filter:?} {in_size}->{out_size} at {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn fixed_point_weights_round_half_away_from_zero() {
        assert_eq!(to_fixed(1.0), 1 << PRECISION_BITS);
        assert_eq!(to_fixed(0.5 / f64::from(1_u32 << PRECISION_BITS)), 1);
        assert_eq!(to_fixed(-0.5 / f64::from(1_u32 << PRECISION_BITS)), -1);
        assert_eq!(to_fixed(-0.4 / f64::from(1_u32 << PRECISION_BITS)), 0);
    }
}
