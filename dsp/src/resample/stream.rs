//! Incremental down-mix + resample to 16 kHz for live audio.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};

use super::ResampleError;
use super::downmix::Downmixer;
use crate::whisper_mel::SAMPLE_RATE;

/// Highest input rate accepted; keeps rubato's FFT sizes (and memory) bounded for odd rates.
pub const MAX_INPUT_RATE: u32 = 768_000;

/// Preferred FFT block length on the 16 kHz side. Larger blocks push rubato's anti-aliasing
/// cutoff closer to 8 kHz (about 7.8 kHz here) at the cost of latency (half a block).
const TARGET_BLOCK_OUT_FRAMES: usize = 512;

/// Streaming resampler from interleaved audio at any rate to 16 kHz mono.
///
/// Feed interleaved chunks of any length (frames may be split across calls) with
/// [`process`](Self::process) or [`process_into`](Self::process_into), then call
/// [`flush`](Self::flush) at the end of the signal. The concatenated output equals
/// [`to_mono_16k`](super::to_mono_16k) on the whole input: rubato's startup delay is
/// trimmed, so output is time-aligned, and the total is `round(frames * 16000 / rate)`.
#[derive(Debug)]
pub struct StreamResampler {
    in_rate: u32,
    downmixer: Downmixer,
    /// `None` when the input is already 16 kHz: only the down-mix runs.
    engine: Option<FftEngine>,
    frames_in: u64,
    frames_out: u64,
}

#[derive(Debug)]
struct FftEngine {
    fft: Fft<f32>,
    /// Mono input not yet resampled (shorter than one block after each call).
    pending: Vec<f32>,
    /// Output scratch for one block.
    block_out: Vec<f32>,
    chunk_in: usize,
    /// Leading output frames still to drop to compensate rubato's delay.
    delay_left: usize,
}

impl StreamResampler {
    /// A resampler for `channels` interleaved channels at `in_rate` Hz.
    pub fn new(in_rate: u32, channels: u16) -> Result<Self, ResampleError> {
        if in_rate == 0 {
            return Err(ResampleError::SampleRateZero);
        }
        if in_rate > MAX_INPUT_RATE {
            return Err(ResampleError::SampleRateTooHigh { rate: in_rate });
        }
        if channels == 0 {
            return Err(ResampleError::ChannelsZero);
        }
        let engine = if in_rate == SAMPLE_RATE {
            None
        } else {
            Some(FftEngine::new(in_rate)?)
        };
        Ok(Self {
            in_rate,
            downmixer: Downmixer::new(usize::from(channels)),
            engine,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Rubato's delay in 16 kHz frames (0 at 16 kHz input).
    ///
    /// The stream trims it, so output stays time-aligned, but the newest audio only
    /// comes out after about this many (plus up to one block of) further frames, or on flush.
    pub fn output_delay(&self) -> usize {
        self.engine
            .as_ref()
            .map_or(0, |engine| engine.fft.output_delay())
    }

    /// Total 16 kHz frames that `input_frames` frames of input produce once flushed.
    pub fn output_len_for(&self, input_frames: usize) -> usize {
        let scaled = input_frames as u128 * u128::from(SAMPLE_RATE) * 2 + u128::from(self.in_rate);
        usize::try_from(scaled / (2 * u128::from(self.in_rate))).unwrap_or(usize::MAX)
    }

    /// Resamples an interleaved chunk, returning the 16 kHz mono frames now ready.
    pub fn process(&mut self, interleaved: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        self.process_into(interleaved, &mut out);
        out
    }

    /// Appends the 16 kHz mono frames made ready by `interleaved` to `out`.
    ///
    /// In steady state this allocates only to grow `out` (reserve it to avoid that) or when
    /// one call brings more than a block of input.
    pub fn process_into(&mut self, interleaved: &[f32], out: &mut Vec<f32>) {
        let Self {
            downmixer,
            engine,
            frames_in,
            frames_out,
            ..
        } = self;
        match engine {
            None => downmixer.push(interleaved, |sample| {
                out.push(sample);
                *frames_in += 1;
                *frames_out += 1;
            }),
            Some(engine) => {
                downmixer.push(interleaved, |sample| {
                    engine.pending.push(sample);
                    *frames_in += 1;
                });
                *frames_out += engine.resample_full_blocks(out) as u64;
            }
        }
    }

    /// Ends the signal: returns the remaining output and resets for a new signal.
    pub fn flush(&mut self) -> Vec<f32> {
        let mut out = Vec::new();
        self.flush_into(&mut out);
        out
    }

    /// Appends the remaining output to `out` and resets for a new signal.
    ///
    /// An incomplete trailing frame (fewer samples than channels) is dropped.
    pub fn flush_into(&mut self, out: &mut Vec<f32>) {
        let total =
            self.output_len_for(usize::try_from(self.frames_in).unwrap_or(usize::MAX)) as u64;
        if let Some(engine) = &mut self.engine {
            while self.frames_out < total {
                let written = engine.resample_tail_block(out) as u64;
                let excess = (self.frames_out + written).saturating_sub(total);
                out.truncate(out.len() - excess as usize);
                self.frames_out += written - excess;
            }
            engine.reset();
        }
        self.downmixer.reset();
        self.frames_in = 0;
        self.frames_out = 0;
    }
}

impl FftEngine {
    fn new(in_rate: u32) -> Result<Self, ResampleError> {
        let divisor = gcd(in_rate, SAMPLE_RATE);
        let min_block_in = (in_rate / divisor) as usize;
        let min_block_out = (SAMPLE_RATE / divisor) as usize;
        let block_in = TARGET_BLOCK_OUT_FRAMES.div_ceil(min_block_out) * min_block_in;
        let fft = Fft::<f32>::new_custom(
            in_rate as usize,
            SAMPLE_RATE as usize,
            block_in,
            1,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Both,
        )
        .map_err(|error| ResampleError::Construction {
            rate: in_rate,
            reason: error.to_string(),
        })?;
        let chunk_in = fft.input_frames_next();
        Ok(Self {
            pending: Vec::with_capacity(2 * chunk_in),
            block_out: vec![0.0; fft.output_frames_next()],
            chunk_in,
            delay_left: fft.output_delay(),
            fft,
        })
    }

    /// Resamples every complete block in `pending`; returns frames appended to `out`.
    fn resample_full_blocks(&mut self, out: &mut Vec<f32>) -> usize {
        let blocks = self.pending.len() / self.chunk_in;
        let mut appended = 0;
        for block in 0..blocks {
            let start = block * self.chunk_in;
            let input = &self.pending[start..start + self.chunk_in];
            appended += run_block(
                &mut self.fft,
                input,
                &mut self.block_out,
                &mut self.delay_left,
                out,
            );
        }
        self.pending.drain(..blocks * self.chunk_in);
        appended
    }

    /// Resamples what is left in `pending` padded with silence; returns frames appended.
    fn resample_tail_block(&mut self, out: &mut Vec<f32>) -> usize {
        let appended = run_block(
            &mut self.fft,
            &self.pending,
            &mut self.block_out,
            &mut self.delay_left,
            out,
        );
        self.pending.clear();
        appended
    }

    fn reset(&mut self) {
        self.fft.reset();
        self.pending.clear();
        self.delay_left = self.fft.output_delay();
    }
}

/// Runs one rubato block on `input` (zero-padded when short) and appends its output,
/// minus any delay frames still to drop; returns frames appended.
fn run_block(
    fft: &mut Fft<f32>,
    input: &[f32],
    block_out: &mut [f32],
    delay_left: &mut usize,
    out: &mut Vec<f32>,
) -> usize {
    let frames_in = input.len();
    let frames_out = block_out.len();
    let partial =
        (frames_in < fft.input_frames_next()).then(|| Indexing::new().partial_len(frames_in));
    // Mono buffers sized from the resampler's own chunk sizes cannot fail these checks.
    let adapter_in = InterleavedSlice::new(input, 1, frames_in)
        .expect("mono input slice holds frames_in frames");
    let mut adapter_out = InterleavedSlice::new_mut(block_out, 1, frames_out)
        .expect("mono output slice holds frames_out frames");
    let (_, written) = fft
        .process_into_buffer(&adapter_in, &mut adapter_out, partial.as_ref())
        .expect("buffers match the resampler's chunk sizes");
    let skip = (*delay_left).min(written);
    *delay_left -= skip;
    out.extend_from_slice(&block_out[skip..written]);
    written - skip
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
