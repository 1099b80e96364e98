use super::*;
use crate::image::test_images::{jpeg, jpeg_of, jpeg_sof_header, picture, png, png_bomb, png_raw};

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let total: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.len() as f64
}

#[test]
fn a_real_jpeg_decodes_to_its_size_and_pixels() {
    let image = decode_image(&jpeg(64, 48), &limits()).unwrap();
    assert_eq!(
        (image.width, image.height, image.data.len()),
        (64, 48, 64 * 48 * 3)
    );
    let diff = mean_abs_diff(&image.data, &picture(64, 48).data);
    assert!(diff < 3.0, "mean abs diff {diff}");
}

#[test]
fn a_grey_jpeg_comes_out_as_rgb_with_equal_channels() {
    let grey: Vec<u8> = (0..32 * 16).map(|i| (i % 32 * 8) as u8).collect();
    let bytes = jpeg_of(&grey, 32, 16, jpeg_encoder::ColorType::Luma);
    let image = decode_image(&bytes, &limits()).unwrap();
    assert_eq!((image.width, image.height), (32, 16));
    assert!(
        image
            .data
            .chunks_exact(3)
            .all(|p| p[0] == p[1] && p[1] == p[2])
    );
    let luma: Vec<u8> = image.data.chunks_exact(3).map(|p| p[0]).collect();
    assert!(mean_abs_diff(&luma, &grey) < 3.0);
}

#[test]
fn a_cmyk_jpeg_comes_out_as_rgb() {
    let cmyk = [0u8, 255, 255, 0].repeat(16 * 16); // full magenta + yellow: red
    let bytes = jpeg_of(&cmyk, 16, 16, jpeg_encoder::ColorType::Cmyk);
    let image = decode_image(&bytes, &limits()).unwrap();
    assert_eq!(image.data.len(), 16 * 16 * 3);
    let [r, g, b] = image.pixel(8, 8);
    assert!(r > 200 && g < 60 && b < 60, "{:?}", [r, g, b]);
}

#[test]
fn a_truncated_jpeg_is_an_error_not_a_grey_picture() {
    let bytes = jpeg(64, 48);
    for cut in [
        bytes.len() * 3 / 10,
        bytes.len() / 2,
        bytes.len() * 9 / 10,
        12,
    ] {
        let error = decode_image(&bytes[..cut], &limits()).unwrap_err();
        assert!(
            matches!(
                error,
                ImageError::Corrupt {
                    format: ImageFormat::Jpeg,
                    ..
                }
            ),
            "cut at {cut} of {}: {error:?}",
            bytes.len()
        );
        assert!(
            error
                .to_string()
                .starts_with("truncated or corrupt JPEG data: ")
        );
        assert!(!error.to_string().contains('\n'));
    }
}

#[test]
fn a_jpeg_header_claiming_60000x60000_is_refused_before_decoding() {
    let error = decode_image(&jpeg_sof_header(0, 8, 60000, 60000, 3), &limits()).unwrap_err();
    assert_eq!(
        error,
        ImageError::TooLarge {
            width: 60000,
            height: 60000,
            limit: limits()
        }
    );
    assert_eq!(
        error.to_string(),
        "image is 60000x60000, larger than the decode limit of 8192x8192 and 40000000 pixels"
    );
}

#[test]
fn width_height_and_pixel_limits_each_apply() {
    let too_wide = jpeg_sof_header(0, 8, 9000, 10, 3);
    let too_many = jpeg_sof_header(2, 8, 8000, 6000, 3);
    for bytes in [too_wide, too_many] {
        assert!(matches!(
            decode_image(&bytes, &limits()),
            Err(ImageError::TooLarge { .. })
        ));
    }
    let small = DecodeLimits::exactly(32, 32);
    assert!(matches!(
        decode_image(&jpeg(64, 48), &small),
        Err(ImageError::TooLarge {
            width: 64,
            height: 48,
            ..
        })
    ));
}

#[test]
fn a_zero_height_jpeg_is_refused() {
    let error = decode_image(&jpeg_sof_header(0, 8, 640, 0, 3), &limits()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "image width and height must be > 0, got 640x0"
    );
}

#[test]
fn lossless_twelve_bit_and_two_component_jpegs_are_unsupported_pixel_formats() {
    let cases = [
        (
            jpeg_sof_header(3, 8, 64, 64, 3),
            "lossless JPEG (SOF3) is not supported",
        ),
        (
            jpeg_sof_header(9, 8, 64, 64, 3),
            "arithmetic-coded JPEG (SOF9)",
        ),
        (
            jpeg_sof_header(1, 12, 64, 64, 3),
            "sample precision must be 8 bits, got 12",
        ),
        (
            jpeg_sof_header(0, 8, 64, 64, 2),
            "component count must be 1",
        ),
    ];
    for (bytes, expected) in cases {
        let error = decode_image(&bytes, &limits()).unwrap_err();
        assert!(
            matches!(
                error,
                ImageError::UnsupportedPixelFormat {
                    format: ImageFormat::Jpeg,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains(expected), "{error}");
    }
}

#[test]
fn rgb_grey_alpha_palette_and_16_bit_pngs_all_come_out_as_8_bit_rgb() {
    let rgb = png(2, 8, 2, None, &[vec![255, 0, 0, 0, 255, 0]]);
    let grey = png(2, 8, 0, None, &[vec![0, 200]]);
    let grey_alpha = png(2, 8, 4, None, &[vec![10, 0, 20, 255]]);
    let rgba = png(2, 8, 6, None, &[vec![1, 2, 3, 0, 4, 5, 6, 255]]);
    let palette = png(2, 8, 3, Some(&[9, 8, 7, 250, 251, 252]), &[vec![1, 0]]);
    let rgb16 = png(1, 16, 2, None, &[vec![0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x00]]);
    let grey1 = png(8, 1, 0, None, &[vec![0b1010_0000]]);
    let cases: [(&[u8], Vec<u8>); 7] = [
        (&rgb, vec![255, 0, 0, 0, 255, 0]),
        (&grey, vec![0, 0, 0, 200, 200, 200]),
        (&grey_alpha, vec![10, 10, 10, 20, 20, 20]),
        (&rgba, vec![1, 2, 3, 4, 5, 6]),
        (&palette, vec![250, 251, 252, 9, 8, 7]),
        (&rgb16, vec![0x12, 0xAB, 0xFF]),
        (
            &grey1,
            [255, 0, 255, 0, 0, 0, 0, 0]
                .iter()
                .flat_map(|&g| [g, g, g])
                .collect(),
        ),
    ];
    for (index, (bytes, expected)) in cases.into_iter().enumerate() {
        let image = decode_image(bytes, &limits()).unwrap_or_else(|e| panic!("case {index}: {e}"));
        assert_eq!(image.data, expected, "case {index}");
        assert_eq!(image.height, 1, "case {index}");
    }
}

#[test]
fn a_0x0_png_is_refused() {
    let error = decode_image(&png_raw(0, 0, 8, 2, None, &[]), &limits()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "image width and height must be > 0, got 0x0"
    );
}

#[test]
fn a_png_bomb_that_inflates_past_its_declared_size_fails_cleanly() {
    // 16x16 grey needs 16 * 17 = 272 bytes; the IDAT inflates to 64 MiB.
    let bomb = png_bomb(16, 16, 64 << 20);
    assert!(bomb.len() < 128 * 1024, "bomb is {} bytes", bomb.len());
    let error = decode_image(&bomb, &limits()).unwrap_err();
    assert!(
        matches!(
            error,
            ImageError::Corrupt {
                format: ImageFormat::Png,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_png_claiming_a_huge_size_is_refused_from_its_header() {
    let bomb = png_bomb(60000, 60000, 1 << 20);
    assert!(matches!(
        decode_image(&bomb, &limits()),
        Err(ImageError::TooLarge {
            width: 60000,
            height: 60000,
            ..
        })
    ));
}

#[test]
fn an_invalid_png_depth_and_colour_pair_is_an_unsupported_pixel_format() {
    let error = decode_image(&png_raw(4, 4, 4, 2, None, &[0; 4]), &limits()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unsupported PNG pixel format: colour type 2 with bit depth 4 is not a valid PNG combination"
    );
}

#[test]
fn a_truncated_or_damaged_png_is_corrupt() {
    let rows: Vec<Vec<u8>> = (0..16).map(|y| vec![y as u8 * 10; 16 * 3]).collect();
    let good = png(16, 8, 2, None, &rows);
    assert!(decode_image(&good, &limits()).is_ok());
    for cut in [good.len() - 20, good.len() / 2, 20] {
        let error = decode_image(&good[..cut], &limits()).unwrap_err();
        assert!(
            matches!(
                error,
                ImageError::Corrupt {
                    format: ImageFormat::Png,
                    ..
                }
            ),
            "cut at {cut}: {error:?}"
        );
    }
    let mut flipped = good.clone();
    let last_idat_byte = good.len() - 12 - 5;
    flipped[last_idat_byte] ^= 0x55;
    assert!(matches!(
        decode_image(&flipped, &limits()),
        Err(ImageError::Corrupt { .. })
    ));
}

#[test]
fn bytes_that_are_neither_jpeg_nor_png_are_an_unknown_format() {
    let error = decode_image(b"GIF89a....", &limits()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unsupported image format: expected JPEG (FF D8 FF) or PNG (89 50 4E 47) magic bytes, got 47 49 46 38"
    );
    assert!(
        decode_image(&[], &limits())
            .unwrap_err()
            .to_string()
            .ends_with("got no bytes")
    );
}

#[test]
fn decoding_a_jpeg_of_the_same_size_again_reuses_the_buffer() {
    let bytes = jpeg(64, 48);
    let mut out = RgbImage::default();
    decode_image_into(&bytes, &limits(), &mut out).unwrap();
    let pointer = out.data.as_ptr();
    decode_image_into(&bytes, &limits(), &mut out).unwrap();
    assert_eq!(out.data.as_ptr(), pointer);
}
