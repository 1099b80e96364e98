//! JPEG thumbnails of the frames that trigger label events.

use percept_dsp::RgbImage;
use percept_dsp::image::encode::encode_jpeg;
use percept_dsp::image::resize::{Interpolation, resize};

/// JPEG quality of snapshots: small, still recognisable.
pub const SNAPSHOT_QUALITY: u8 = 80;

/// `image` scaled down (never up) so its longer side is at most `max_side`, as a JPEG.
pub fn snapshot_jpeg(image: &RgbImage, max_side: u32) -> Result<Vec<u8>, String> {
    let max_side = max_side as usize;
    let longer = image.width.max(image.height);
    if longer <= max_side {
        return encode_jpeg(image, SNAPSHOT_QUALITY).map_err(|e| e.to_string());
    }
    let scale = max_side as f64 / longer as f64;
    let width = ((image.width as f64 * scale).round() as usize).max(1);
    let height = ((image.height as f64 * scale).round() as usize).max(1);
    let small = resize(image, width, height, Interpolation::Bilinear).map_err(|e| e.to_string())?;
    encode_jpeg(&small, SNAPSHOT_QUALITY).map_err(|e| e.to_string())
}
