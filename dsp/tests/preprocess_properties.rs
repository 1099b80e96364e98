//! Properties of `Preprocessor`: `process` equals `process_into` (also with a preprocessor that
//! is warm from other sizes), outputs are finite and inside the normalised range, and a warm
//! preprocessor allocates nothing for frames of an unchanged size. Also prints the cost of one
//! 640x480 CLIP preprocess (no timing assertion; run with `--nocapture` to see it).

use std::time::Instant;

use percept_dsp::image::preprocess::{CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD};
use percept_dsp::image::{CLIP_PREPROCESS, Interpolation, PreprocessSpec, Preprocessor, RgbImage};
use proptest::prelude::*;

fn image_strategy() -> impl Strategy<Value = RgbImage> {
    (1_usize..70, 1_usize..70).prop_flat_map(|(width, height)| {
        proptest::collection::vec(any::<u8>(), width * height * 3).prop_map(move |data| RgbImage {
            width,
            height,
            data,
        })
    })
}

fn spec_strategy() -> impl Strategy<Value = PreprocessSpec> {
    (1_u32..40, any::<bool>(), any::<bool>()).prop_flat_map(|(resize_shortest, bicubic, clip)| {
        (1..=resize_shortest).prop_map(move |crop| PreprocessSpec {
            resize_shortest,
            crop,
            mean: if clip { CLIP_MEAN } else { IMAGENET_MEAN },
            std: if clip { CLIP_STD } else { IMAGENET_STD },
            interpolation: if bicubic {
                Interpolation::Bicubic
            } else {
                Interpolation::Bilinear
            },
        })
    })
}

/// A synthetic 640x480 camera-like frame: gradients plus a hashed texture.
fn frame_640x480() -> RgbImage {
    let (width, height) = (640, 480);
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let hash = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) as u8;
            data.extend_from_slice(&[(x / 3) as u8, (y / 2) as u8, hash]);
        }
    }
    RgbImage {
        width,
        height,
        data,
    }
}

proptest! {
    #[test]
    fn process_equals_process_into_and_stays_finite_and_bounded(
        spec in spec_strategy(),
        first in image_strategy(),
        second in image_strategy(),
    ) {
        let mut warm = Preprocessor::new(spec).unwrap();
        let mut out = vec![f32::NAN; spec.output_len()];
        // Warm on another size first: cached tables must follow the new size.
        warm.process_into(&first, &mut out).unwrap();
        warm.process_into(&second, &mut out).unwrap();
        let fresh = Preprocessor::new(spec).unwrap().process(&second).unwrap();
        prop_assert_eq!(&fresh, &out);

        let plane = (spec.crop * spec.crop) as usize;
        for (channel, values) in out.chunks_exact(plane).enumerate() {
            let low = (0.0 - spec.mean[channel]) / spec.std[channel];
            let high = (1.0 - spec.mean[channel]) / spec.std[channel];
            for &v in values {
                prop_assert!(v.is_finite() && (low..=high).contains(&v), "channel {} value {}", channel, v);
            }
        }
    }
}

#[test]
fn a_warm_preprocessor_allocates_nothing_for_frames_of_the_same_size() {
    let mut pre = Preprocessor::new(CLIP_PREPROCESS).unwrap();
    let frame = frame_640x480();
    let mut out = vec![0.0; CLIP_PREPROCESS.output_len()];
    pre.process_into(&frame, &mut out).unwrap();
    let warmed = pre.allocations();
    assert!(warmed > 0, "the first frame builds tables and buffers");
    for _ in 0..5 {
        pre.process_into(&frame, &mut out).unwrap();
    }
    assert_eq!(
        pre.allocations(),
        warmed,
        "same-size frames must not allocate"
    );

    // A different size rebuilds the tables (and may grow buffers): the counter can fail.
    let other = RgbImage::filled(320, 240, [9, 9, 9]);
    pre.process_into(&other, &mut out).unwrap();
    assert!(pre.allocations() > warmed);
}

#[test]
fn clip_preprocess_of_a_640x480_frame_cost_is_printed() {
    let mut pre = Preprocessor::new(CLIP_PREPROCESS).unwrap();
    let frame = frame_640x480();
    let mut out = vec![0.0; CLIP_PREPROCESS.output_len()];
    pre.process_into(&frame, &mut out).unwrap();
    let runs = 200;
    let start = Instant::now();
    for _ in 0..runs {
        pre.process_into(&frame, &mut out).unwrap();
    }
    let per_frame = start.elapsed() / runs;
    println!(
        "CLIP preprocess 640x480 -> 224x224 NCHW: {per_frame:?} per frame (warm, {runs} runs)"
    );
}
