//! Golden test: our resize and preprocessing against Pillow, byte for byte (resize) and to 1e-6
//! (normalised floats). Fixtures written by `scripts/make_resize_fixture.py` (see it to
//! regenerate); the case lists below mirror its `RESIZE_SIZES` and `PREPROCESS_INPUTS`.

use std::path::PathBuf;

use percept_dsp::image::preprocess::IMAGENET_MEAN;
use percept_dsp::image::preprocess::IMAGENET_STD;
use percept_dsp::image::{Interpolation, PreprocessSpec, Preprocessor, Resizer, RgbImage};

const RESIZE_SIZES: [(usize, usize); 8] = [
    (30, 22),
    (13, 7),
    (100, 75),
    (64, 20),
    (20, 48),
    (1, 1),
    (3, 200),
    (63, 47),
];
const PREPROCESS_INPUTS: [(usize, usize); 2] = [(61, 53), (56, 53)];
const FLOAT_TOLERANCE: f32 = 1e-6;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/resize")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn input(width: usize, height: usize) -> RgbImage {
    let data = fixture(&format!("input_{width}x{height}.rgb"));
    assert_eq!(data.len(), width * height * 3);
    RgbImage {
        width,
        height,
        data,
    }
}

#[test]
fn resize_matches_pillow_byte_for_byte() {
    let source = input(64, 48);
    for (name, filter) in [
        ("bicubic", Interpolation::Bicubic),
        ("bilinear", Interpolation::Bilinear),
    ] {
        // One resizer for all sizes: a table rebuilt for a new size must not keep stale weights.
        let mut resizer = Resizer::new(filter);
        for (width, height) in RESIZE_SIZES {
            let want = fixture(&format!("resize_{name}_{width}x{height}.rgb"));
            let got = resizer.resize(&source, width, height).unwrap();
            let differing = got.data.iter().zip(&want).filter(|(a, b)| a != b).count();
            assert_eq!(got.data.len(), want.len());
            assert_eq!(
                differing, 0,
                "{name} 64x48 -> {width}x{height}: {differing} bytes differ from Pillow"
            );
        }
    }
}

#[test]
fn preprocessing_matches_torchvision_on_pil_including_the_half_to_even_crop() {
    let spec = PreprocessSpec {
        resize_shortest: 20,
        crop: 16,
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
        interpolation: Interpolation::Bicubic,
    };
    let mut pre = Preprocessor::new(spec).unwrap();
    for (width, height) in PREPROCESS_INPUTS {
        let want: Vec<f32> = fixture(&format!("preprocess_{width}x{height}.f32"))
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let got = pre.process(&input(width, height)).unwrap();
        assert_eq!(got.len(), want.len());
        let max = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            max <= FLOAT_TOLERANCE,
            "{width}x{height}: max abs diff {max}"
        );
    }
}
