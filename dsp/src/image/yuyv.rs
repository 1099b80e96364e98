//! Raw camera and video layouts to RGB: packed YUYV 4:2:2 (USB cameras) and planar I420
//! 4:2:0 (YUV4MPEG2 files).
//!
//! Both use BT.601 limited range (Y 16..235, Cb/Cr 16..240), which is what UVC cameras and
//! y4m files carry, in 8.8 fixed-point integer math (the constants of the usual
//! `(298 * (Y - 16) + 409 * (V - 128) + 128) >> 8` form). Chroma is taken from the nearest
//! sample (no interpolation), so chroma siting (`C420jpeg` vs `C420mpeg2`) does not matter.

use super::RgbImage;
use super::error::ImageError;

/// One BT.601 limited-range YCbCr sample to RGB.
#[inline]
fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let c = 298 * (i32::from(y) - 16);
    let d = i32::from(cb) - 128;
    let e = i32::from(cr) - 128;
    let clamp = |v: i32| ((v + 128) >> 8).clamp(0, 255) as u8;
    [
        clamp(c + 409 * e),
        clamp(c - 100 * d - 208 * e),
        clamp(c + 516 * d),
    ]
}

/// Sets `out` to `width` x `height`, reusing its buffer.
fn prepare(out: &mut RgbImage, width: usize, height: usize) {
    out.width = width;
    out.height = height;
    out.data.resize(width * height * 3, 0);
}

/// Converts a packed YUYV (YUY2) frame, `Y0 U Y1 V` per pixel pair, to RGB in `out`
/// (resized as needed; no allocation when the size does not change).
///
/// `width` must be even and `src` exactly `width * height * 2` bytes.
pub fn yuyv_to_rgb_into(
    src: &[u8],
    width: usize,
    height: usize,
    out: &mut RgbImage,
) -> Result<(), ImageError> {
    const LAYOUT: &str = "YUYV";
    if width == 0 || height == 0 {
        return Err(ImageError::ZeroSize { width, height });
    }
    if !width.is_multiple_of(2) {
        return Err(ImageError::BadDimensions {
            layout: LAYOUT,
            rule: format!("width must be even (two pixels share U and V), got {width}"),
        });
    }
    let expected = width.saturating_mul(height).saturating_mul(2);
    if src.len() != expected {
        return Err(ImageError::BufferLength {
            layout: LAYOUT,
            width,
            height,
            expected,
            actual: src.len(),
        });
    }
    prepare(out, width, height);
    for (pair, rgb) in src.chunks_exact(4).zip(out.data.chunks_exact_mut(6)) {
        let (y0, u, y1, v) = (pair[0], pair[1], pair[2], pair[3]);
        rgb[..3].copy_from_slice(&ycbcr_to_rgb(y0, u, v));
        rgb[3..].copy_from_slice(&ycbcr_to_rgb(y1, u, v));
    }
    Ok(())
}

/// Bytes in an I420 frame: the Y plane, then U and V planes of `ceil(w/2) x ceil(h/2)`.
pub fn i420_frame_len(width: usize, height: usize) -> usize {
    let chroma = width.div_ceil(2).saturating_mul(height.div_ceil(2));
    width
        .saturating_mul(height)
        .saturating_add(chroma.saturating_mul(2))
}

/// Converts a planar I420 (YUV 4:2:0: Y plane, then U, then V) frame to RGB in `out`
/// (resized as needed; no allocation when the size does not change). Odd sizes are allowed:
/// chroma planes are `ceil(w/2) x ceil(h/2)`, as in YUV4MPEG2.
pub fn i420_to_rgb_into(
    src: &[u8],
    width: usize,
    height: usize,
    out: &mut RgbImage,
) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::ZeroSize { width, height });
    }
    let expected = i420_frame_len(width, height);
    if src.len() != expected {
        return Err(ImageError::BufferLength {
            layout: "I420",
            width,
            height,
            expected,
            actual: src.len(),
        });
    }
    let chroma_width = width.div_ceil(2);
    let chroma_len = chroma_width * height.div_ceil(2);
    let (luma, chroma) = src.split_at(width * height);
    let (u_plane, v_plane) = chroma.split_at(chroma_len);
    prepare(out, width, height);
    for (y, (luma_row, rgb_row)) in luma
        .chunks_exact(width)
        .zip(out.data.chunks_exact_mut(width * 3))
        .enumerate()
    {
        let chroma_row = (y / 2) * chroma_width;
        let u_row = &u_plane[chroma_row..chroma_row + chroma_width];
        let v_row = &v_plane[chroma_row..chroma_row + chroma_width];
        for (x, (&luma, rgb)) in luma_row.iter().zip(rgb_row.chunks_exact_mut(3)).enumerate() {
            rgb.copy_from_slice(&ycbcr_to_rgb(luma, u_row[x / 2], v_row[x / 2]));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_range_black_white_and_primaries_convert_to_their_rgb_values() {
        assert_eq!(ycbcr_to_rgb(16, 128, 128), [0, 0, 0]);
        assert_eq!(ycbcr_to_rgb(235, 128, 128), [255, 255, 255]);
        // BT.601 limited-range red, green and blue (75 % bars are not used: full primaries).
        assert_eq!(ycbcr_to_rgb(81, 90, 240), [255, 0, 0]);
        assert_eq!(ycbcr_to_rgb(145, 54, 34), [0, 255, 1]);
        assert_eq!(ycbcr_to_rgb(41, 240, 110), [0, 0, 255]);
    }

    #[test]
    fn a_yuyv_pixel_pair_shares_its_chroma() {
        // Two pixels: black and white luma, neutral chroma; then red chroma with mid luma.
        let src = [16, 128, 235, 128, 81, 90, 81, 240];
        let mut out = RgbImage::default();
        yuyv_to_rgb_into(&src, 2, 2, &mut out).unwrap();
        assert_eq!((out.width, out.height), (2, 2));
        assert_eq!(out.pixel(0, 0), [0, 0, 0]);
        assert_eq!(out.pixel(1, 0), [255, 255, 255]);
        assert_eq!(out.pixel(0, 1), [255, 0, 0]);
        assert_eq!(out.pixel(1, 1), [255, 0, 0]);
    }

    #[test]
    fn a_yuyv_buffer_of_the_wrong_length_is_refused_with_both_sizes() {
        let mut out = RgbImage::default();
        let error = yuyv_to_rgb_into(&[0; 10], 4, 2, &mut out).unwrap_err();
        assert_eq!(
            error.to_string(),
            "YUYV buffer for 4x2 must be 16 bytes, got 10"
        );
        let error = yuyv_to_rgb_into(&[0; 30], 4, 2, &mut out).unwrap_err();
        assert!(matches!(error, ImageError::BufferLength { actual: 30, .. }));
    }

    #[test]
    fn an_odd_yuyv_width_and_a_zero_size_are_refused() {
        let mut out = RgbImage::default();
        let error = yuyv_to_rgb_into(&[0; 6], 3, 1, &mut out).unwrap_err();
        assert_eq!(
            error.to_string(),
            "YUYV frame size is invalid: width must be even (two pixels share U and V), got 3"
        );
        assert!(matches!(
            yuyv_to_rgb_into(&[], 0, 0, &mut out),
            Err(ImageError::ZeroSize { .. })
        ));
    }

    #[test]
    fn converting_the_same_size_again_reuses_the_buffer() {
        let mut out = RgbImage::default();
        let src = vec![128u8; 64 * 48 * 2];
        yuyv_to_rgb_into(&src, 64, 48, &mut out).unwrap();
        let pointer = out.data.as_ptr();
        yuyv_to_rgb_into(&src, 64, 48, &mut out).unwrap();
        assert_eq!(out.data.as_ptr(), pointer);
    }

    #[test]
    fn i420_takes_chroma_from_the_2x2_block_and_allows_odd_sizes() {
        // 3x3: Y plane 9 bytes, chroma planes 2x2 = 4 bytes each.
        let mut src = vec![81u8; 9];
        src.extend([90, 128, 128, 54]); // U
        src.extend([240, 128, 128, 34]); // V
        let mut out = RgbImage::default();
        i420_to_rgb_into(&src, 3, 3, &mut out).unwrap();
        assert_eq!(out.pixel(0, 0), [255, 0, 0]);
        assert_eq!(out.pixel(1, 1), [255, 0, 0]);
        assert_eq!(out.pixel(2, 0), ycbcr_to_rgb(81, 128, 128));
        assert_eq!(out.pixel(2, 2), ycbcr_to_rgb(81, 54, 34));
        assert_eq!(i420_frame_len(3, 3), 17);
        let error = i420_to_rgb_into(&src[..16], 3, 3, &mut out).unwrap_err();
        assert_eq!(
            error.to_string(),
            "I420 buffer for 3x3 must be 17 bytes, got 16"
        );
    }
}
