//! The conformance check every `AudioSource` must pass, written once and run against the file,
//! embedded-WAV, stdin and microphone sources.
#![allow(dead_code)]

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use perceptd::health::{Counter, Metrics};
use perceptd::shutdown::Shutdown;
use perceptd::sources::{
    AudioBlock, AudioSource, BLOCK_SAMPLES, SAMPLE_RATE, SourceContext, SourceEnd, SourceError,
};

/// Upper bound on any wait, so a broken source fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(30);
/// How long a source may take to return after shutdown fires (bounded wait, not a timing claim).
const STOP_PATIENCE: Duration = Duration::from_secs(5);

/// What a source should deliver.
pub enum Expected<'a> {
    /// Exactly these 16 kHz mono samples (±1e-5, the resampler's chunked-vs-batch tolerance),
    /// then the end of input.
    Samples(&'a [f32]),
    /// A sine tone of this frequency and amplitude, lasting at least `min_secs`; the source
    /// never ends by itself.
    Tone {
        /// Frequency in Hz.
        hz: f64,
        /// Peak amplitude.
        amplitude: f64,
        /// Seconds of tone to collect before stopping the source.
        min_secs: f64,
    },
}

/// A source running on its own thread.
struct Running {
    rx: Receiver<AudioBlock>,
    shutdown: Shutdown,
    metrics: std::sync::Arc<Metrics>,
    thread: JoinHandle<Result<SourceEnd, SourceError>>,
}

fn start(source: Box<dyn AudioSource>, channel_blocks: usize) -> Running {
    let shutdown = Shutdown::new();
    let metrics = Metrics::new();
    let (cx, rx) = SourceContext::new(channel_blocks, shutdown.clone(), metrics.clone());
    let thread = std::thread::spawn(move || source.run(cx));
    Running {
        rx,
        shutdown,
        metrics,
        thread,
    }
}

impl Running {
    fn recv(&self) -> Option<AudioBlock> {
        match self.rx.recv_timeout(PATIENCE) {
            Ok(block) => Some(block),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("no block within {PATIENCE:?}"),
        }
    }

    /// Fires shutdown and checks that `run` returns `Shutdown` within the stop patience while
    /// nobody drains the channel any more.
    fn stop_promptly(self) {
        self.shutdown.trigger();
        let deadline = Instant::now() + STOP_PATIENCE;
        while !self.thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "run did not return within {STOP_PATIENCE:?} of shutdown"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let result = self.thread.join().expect("source thread panicked");
        assert_eq!(result.expect("run failed"), SourceEnd::Shutdown);
    }
}

/// Every block is 16 kHz mono in full `BLOCK_SAMPLES` blocks (a short one only at the end).
fn assert_block_shapes(blocks: &[AudioBlock], finite: bool) {
    for (index, block) in blocks.iter().enumerate() {
        let last = index + 1 == blocks.len();
        if finite && last {
            assert!(
                !block.samples.is_empty() && block.samples.len() <= BLOCK_SAMPLES,
                "last block has {} samples",
                block.samples.len()
            );
        } else {
            assert_eq!(block.samples.len(), BLOCK_SAMPLES, "block {index}");
        }
    }
}

/// Runs sources made by `make` through the conformance check:
/// - blocks are 16 kHz mono, `BLOCK_SAMPLES` long;
/// - the content matches `expected` (sample-accurate, or the tone's frequency and level);
/// - end of input ends `run` with `EndOfInput` after everything was delivered (finite sources);
/// - shutdown stops `run` promptly even while the channel is full.
pub fn check_source_delivers(make: &dyn Fn() -> Box<dyn AudioSource>, expected: &Expected) {
    match expected {
        Expected::Samples(samples) => check_finite(make, samples),
        Expected::Tone {
            hz,
            amplitude,
            min_secs,
        } => check_tone(make(), *hz, *amplitude, *min_secs),
    }
}

fn check_finite(make: &dyn Fn() -> Box<dyn AudioSource>, expected: &[f32]) {
    // 1. Drained to the end: content is sample-accurate and nothing is lost.
    let running = start(make(), 8);
    let mut blocks = Vec::new();
    while let Some(block) = running.recv() {
        blocks.push(block);
    }
    let result = running.thread.join().expect("source thread panicked");
    assert_eq!(result.expect("run failed"), SourceEnd::EndOfInput);
    assert_block_shapes(&blocks, true);
    assert!(
        blocks.iter().all(|b| b.dropped_samples == 0),
        "audio was dropped"
    );
    let got: Vec<f32> = blocks.into_iter().flat_map(|b| b.samples).collect();
    assert_samples_match(&got, expected);
    assert_eq!(
        running.metrics.get(Counter::AudioSamplesIn),
        expected.len() as u64
    );
    assert_eq!(running.metrics.get(Counter::DroppedAudioMs), 0);

    // 2. Stopped midway, with a full channel: shutdown ends it promptly.
    assert!(
        expected.len() > 8 * BLOCK_SAMPLES,
        "the check needs input longer than 8 blocks"
    );
    let running = start(make(), 2);
    for _ in 0..3 {
        assert!(running.recv().is_some(), "source ended too early");
    }
    running.stop_promptly();
}

/// Sample-accurate comparison (the resampler's chunked output equals its batch output to 1e-5).
pub fn assert_samples_match(got: &[f32], expected: &[f32]) {
    assert_eq!(got.len(), expected.len(), "sample count");
    for (index, (a, b)) in got.iter().zip(expected).enumerate() {
        assert!((a - b).abs() <= 1e-5, "sample {index}: {a} vs {b}");
    }
}

fn check_tone(source: Box<dyn AudioSource>, hz: f64, amplitude: f64, min_secs: f64) {
    let running = start(source, 64);
    let mut blocks = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let block = running.recv().expect("source ended by itself");
        blocks.push(block);
        let samples: Vec<f32> = blocks.iter().flat_map(|b| b.samples.clone()).collect();
        if find_tone(&samples).is_some_and(|tone| tone.secs >= min_secs) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no {min_secs} s of tone within {PATIENCE:?}"
        );
    }
    assert_block_shapes(&blocks, false);
    let samples: Vec<f32> = blocks.iter().flat_map(|b| b.samples.clone()).collect();
    assert_tone(&samples, hz, amplitude, min_secs);
    running.stop_promptly();
}

/// The longest stretch of tone in 16 kHz audio, measured.
#[derive(Debug, Clone, Copy)]
pub struct Tone {
    /// Seconds of tone.
    pub secs: f64,
    /// Frequency from zero crossings, in Hz.
    pub hz: f64,
    /// RMS level.
    pub rms: f64,
}

/// Finds the longest run of 50 ms windows whose RMS is above 0.1 and measures it (50 ms at each
/// edge are left out, where the tone starts or stops mid-window).
pub fn find_tone(samples: &[f32]) -> Option<Tone> {
    let window = SAMPLE_RATE as usize / 20;
    let loud: Vec<bool> = samples.chunks_exact(window).map(|w| rms(w) > 0.1).collect();
    let (mut best, mut start) = ((0, 0), None);
    for (index, &is_loud) in loud.iter().chain([false].iter()).enumerate() {
        match (is_loud, start) {
            (true, None) => start = Some(index),
            (false, Some(first)) => {
                if index - first > best.1 - best.0 {
                    best = (first, index);
                }
                start = None;
            }
            _ => {}
        }
    }
    if best.1 < best.0 + 3 {
        return None;
    }
    let region = &samples[(best.0 + 1) * window..(best.1 - 1) * window];
    // Zero crossings with hysteresis (±0.05), so low-level ringing where a tone starts or stops
    // does not count.
    let mut positive = None;
    let mut crossings = 0usize;
    for &sample in region {
        let now = if sample > 0.05 {
            Some(true)
        } else if sample < -0.05 {
            Some(false)
        } else {
            positive
        };
        if positive.is_some() && now != positive {
            crossings += 1;
        }
        positive = now;
    }
    let secs = region.len() as f64 / f64::from(SAMPLE_RATE);
    Some(Tone {
        secs,
        hz: crossings as f64 / 2.0 / secs,
        rms: rms(region),
    })
}

/// Asserts that `samples` hold at least `min_secs` of a `hz` tone with peak `amplitude`.
pub fn assert_tone(samples: &[f32], hz: f64, amplitude: f64, min_secs: f64) {
    let tone = find_tone(samples).expect("no tone found");
    println!(
        "tone: {:.2} s at {:.1} Hz, rms {:.4}",
        tone.secs, tone.hz, tone.rms
    );
    assert!(tone.secs >= min_secs, "only {:.2} s of tone", tone.secs);
    assert!(
        (tone.hz - hz).abs() < hz * 0.01,
        "tone at {:.1} Hz",
        tone.hz
    );
    let expected_rms = amplitude / 2f64.sqrt();
    assert!(
        (tone.rms - expected_rms).abs() < 0.03,
        "tone rms {:.4}, expected {expected_rms:.4}",
        tone.rms
    );
}

fn rms(samples: &[f32]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len().max(1) as f64).sqrt()
}
