//! `perceptd bench-vision`: what one camera frame costs on this machine, stage by stage.
//!
//! - `decode_ms`: decoding the image file's bytes (JPEG/PNG) to RGB;
//! - `preprocess_ms`: resize, crop and normalise to the model's input (no allocation once warm:
//!   `preprocess_allocations_after_warmup` must be 0);
//! - `model_single_thread_ms`: the model as the daemon's vision thread runs it (one thread);
//! - `model_pooled_ms`: the model on a pool of `--threads` threads;
//! - `text_ms` (CLIP): one prompt through the text tower.
//!
//! Each figure is the median of `--repeat` runs after one warm-up run.

use anyhow::{Context, Result, bail};
use percept_dsp::image::decode::{DecodeLimits, decode_image};
use serde::Serialize;

use super::bench::time;
use super::vision_model::load_image_model;
use crate::cli::BenchVisionArgs;

/// The measured figures.
#[derive(Debug, Serialize)]
pub struct VisionBenchReport {
    /// The model measured.
    pub model: String,
    /// True for synthetic (random) weights.
    pub synthetic: bool,
    /// Image size, pixels.
    pub image_width: usize,
    /// Image height, pixels.
    pub image_height: usize,
    /// Threads of the pooled run.
    pub threads: usize,
    /// Decoding, ms.
    pub decode_ms: f64,
    /// Preprocessing, ms.
    pub preprocess_ms: f64,
    /// Preprocessor buffer growths during the timed runs (0 = allocation-free).
    pub preprocess_allocations_after_warmup: u64,
    /// The model on one thread (the daemon's way), ms.
    pub model_single_thread_ms: f64,
    /// The model on `threads` threads, ms.
    pub model_pooled_ms: f64,
    /// Frames per second of preprocessing + single-threaded model.
    pub fps_single_thread: f64,
    /// Frames per second of preprocessing + pooled model.
    pub fps_pooled: f64,
    /// One text prompt through the text tower (CLIP only), ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_ms: Option<f64>,
    /// The top label, to show the run did real work.
    pub top_label: String,
}

/// Runs the benchmark and prints JSON.
pub fn run(args: &BenchVisionArgs) -> Result<()> {
    if args.repeat == 0 || args.threads == 0 {
        bail!("--repeat and --threads must be >= 1");
    }
    percept_compute::CpuBackend::new(args.threads)?;
    let bytes = std::fs::read(&args.image).with_context(|| format!("{}", args.image.display()))?;
    let limits = DecodeLimits::default();
    let image = decode_image(&bytes, &limits)?;
    let decode_ms = time(args.repeat, || Ok(decode_image(&bytes, &limits)?))?;
    let mut image_model = load_image_model(&args.vision, &[], 1)?;
    image_model.preprocess(&image)?;
    let allocations = image_model.preprocess_allocations();
    let preprocess_ms = time(args.repeat, || Ok(image_model.preprocess(&image)?))?;
    let preprocess_allocations_after_warmup = image_model.preprocess_allocations() - allocations;
    let model_single_thread_ms = percept_compute::single_threaded(|| {
        time(args.repeat, || Ok(image_model.run_model().map(drop)?))
    })?;
    let model_pooled_ms = time(args.repeat, || Ok(image_model.run_model().map(drop)?))?;
    let text_ms = match image_model.embed_text("a photo of a cat.") {
        Ok(_) => Some(time(args.repeat, || {
            Ok(image_model.embed_text("a photo of a cat.").map(drop)?)
        })?),
        Err(_) => None,
    };
    let top_label = image_model
        .run_model()?
        .labels
        .first()
        .map(|l| l.label.to_string())
        .unwrap_or_default();
    let report = VisionBenchReport {
        model: image_model.name().to_string(),
        synthetic: image_model.synthetic(),
        image_width: image.width,
        image_height: image.height,
        threads: args.threads,
        decode_ms,
        preprocess_ms,
        preprocess_allocations_after_warmup,
        model_single_thread_ms,
        model_pooled_ms,
        fps_single_thread: 1e3 / (preprocess_ms + model_single_thread_ms),
        fps_pooled: 1e3 / (preprocess_ms + model_pooled_ms),
        text_ms,
        top_label,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
