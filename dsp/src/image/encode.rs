//! JPEG encoding of an [`RgbImage`] (snapshots, test images).

use jpeg_encoder::{ColorType, Encoder};

use super::RgbImage;
use super::error::ImageError;

/// Encodes `image` as a baseline JPEG at `quality` (1..=100; clamped).
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, ImageError> {
    let (Ok(width), Ok(height)) = (u16::try_from(image.width), u16::try_from(image.height)) else {
        return Err(ImageError::Encode {
            reason: format!(
                "JPEG width and height must be <= 65535, got {}x{}",
                image.width, image.height
            ),
        });
    };
    if width == 0 || height == 0 {
        return Err(ImageError::ZeroSize {
            width: image.width,
            height: image.height,
        });
    }
    let expected = image.width * image.height * 3;
    if image.data.len() != expected {
        return Err(ImageError::BufferLength {
            layout: "RGB",
            width: image.width,
            height: image.height,
            expected,
            actual: image.data.len(),
        });
    }
    let mut bytes = Vec::new();
    Encoder::new(&mut bytes, quality.clamp(1, 100))
        .encode(&image.data, width, height, ColorType::Rgb)
        .map_err(|e| ImageError::Encode {
            reason: e.to_string(),
        })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{DecodeLimits, decode_image};

    #[test]
    fn an_encoded_jpeg_decodes_back_to_nearly_the_same_pixels() {
        let image = RgbImage::filled(40, 30, [200, 40, 90]);
        let bytes = encode_jpeg(&image, 95).unwrap();
        let back = decode_image(&bytes, &DecodeLimits::default()).unwrap();
        assert_eq!((back.width, back.height), (40, 30));
        let worst = back
            .data
            .iter()
            .zip(&image.data)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 4, "worst channel error {worst}");
    }

    #[test]
    fn an_image_whose_buffer_does_not_match_its_size_is_refused() {
        let mut image = RgbImage::filled(4, 4, [0, 0, 0]);
        image.data.pop();
        assert!(matches!(
            encode_jpeg(&image, 80),
            Err(ImageError::BufferLength { expected: 48, .. })
        ));
    }
}
