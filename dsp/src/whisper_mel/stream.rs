//! Incremental raw log10 mel frames with Whisper's centred, reflect-padded framing.

use super::analyzer::FrameAnalyzer;
use super::{HOP_LENGTH, MelError, N_FFT, check_n_mels};

/// Half a window: the reflect padding on each side of the signal.
const PAD: u64 = (N_FFT / 2) as u64;
/// Samples needed before anything can be emitted: reflecting the first frame reads index `PAD`.
const MIN_SAMPLES_FOR_REFLECT: u64 = PAD + 1;
const HOP: u64 = HOP_LENGTH as u64;

/// Computes raw `log10(max(mel, 1e-10))` frames as audio arrives, frame-major `[frame][n_mels]`.
///
/// Frame `t` is centred on sample `t * 160`. A frame is emitted by [`push`](Self::push) as soon
/// as it needs no samples past the end (and at least 201 samples exist, for the start
/// reflection); [`finish`](Self::finish) emits the rest using reflect padding at the end.
/// A signal of `n` samples yields `n / 160` frames in total, exactly like the batch
/// [`log_mel_spectrogram`](super::log_mel_spectrogram), which is this stream plus
/// [`normalize_log_mel`](super::normalize_log_mel). Chunking never changes the output.
#[derive(Debug)]
pub struct LogMelStream {
    n_mels: usize,
    analyzer: FrameAnalyzer,
    /// Retained samples; `buffer[0]` is signal sample `buffer_start`.
    buffer: Vec<f32>,
    buffer_start: u64,
    samples_pushed: u64,
    next_frame: u64,
}

impl LogMelStream {
    /// A stream producing `n_mels` (80 or 128) bands per frame.
    pub fn new(n_mels: usize) -> Result<Self, MelError> {
        check_n_mels(n_mels)?;
        Ok(Self {
            n_mels,
            analyzer: FrameAnalyzer::new(n_mels),
            buffer: Vec::with_capacity(2 * N_FFT),
            buffer_start: 0,
            samples_pushed: 0,
            next_frame: 0,
        })
    }

    /// Mel bands per frame.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Frames emitted since creation or the last [`finish`](Self::finish).
    pub fn frames_emitted(&self) -> usize {
        usize::try_from(self.next_frame).unwrap_or(usize::MAX)
    }

    /// Appends `samples` (16 kHz mono) and emits every frame they complete into `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<f32>) {
        self.buffer.extend_from_slice(samples);
        self.samples_pushed += samples.len() as u64;
        let len = self.samples_pushed;
        if len < MIN_SAMPLES_FOR_REFLECT {
            return;
        }
        while self.next_frame * HOP + PAD <= len {
            self.emit_next_frame(len, out);
        }
        self.drop_consumed_samples();
    }

    /// Emits the trailing frames (reflect-padded at the end) and resets for a new signal.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        let len = self.samples_pushed;
        let total_frames = len / HOP;
        while self.next_frame < total_frames {
            self.emit_next_frame(len, out);
        }
        self.buffer.clear();
        self.buffer_start = 0;
        self.samples_pushed = 0;
        self.next_frame = 0;
    }

    /// Computes frame `next_frame` as if the signal had `len` samples.
    fn emit_next_frame(&mut self, len: u64, out: &mut Vec<f32>) {
        let first = (self.next_frame * HOP) as i64 - PAD as i64;
        let (buffer, buffer_start) = (&self.buffer, self.buffer_start);
        self.analyzer.append_frame(
            |i| buffer[(reflect(first + i as i64, len) - buffer_start) as usize],
            out,
        );
        self.next_frame += 1;
    }

    /// Forgets samples no future frame can read, including the end reflection in `finish`.
    fn drop_consumed_samples(&mut self) {
        let next_frame_start = (self.next_frame * HOP).saturating_sub(PAD);
        let end_reflection_start = self.samples_pushed.saturating_sub(MIN_SAMPLES_FOR_REFLECT);
        let keep_from = next_frame_start.min(end_reflection_start);
        if keep_from > self.buffer_start {
            self.buffer
                .drain(..(keep_from - self.buffer_start) as usize);
            self.buffer_start = keep_from;
        }
    }
}

/// Maps a padded index into `[0, len)` like `np.pad(mode="reflect")`: mirror at both ends
/// without repeating the edge sample, bouncing as often as needed for short signals.
fn reflect(index: i64, len: u64) -> u64 {
    if len <= 1 {
        return 0;
    }
    let period = 2 * (len as i64 - 1);
    let folded = index.rem_euclid(period);
    (if folded >= len as i64 {
        period - folded
    } else {
        folded
    }) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_numpy_reflect_padding() {
        // np.pad(np.arange(4), 7, mode="reflect")
        let expected = [1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2];
        let got: Vec<u64> = (-7..11).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, expected);
        assert_eq!(reflect(-5, 1), 0);
    }

    #[test]
    fn nothing_is_emitted_before_the_start_reflection_is_available() {
        let mut stream = LogMelStream::new(80).unwrap();
        let mut out = Vec::new();
        stream.push(&[0.1; 200], &mut out);
        assert!(out.is_empty());
        stream.push(&[0.1], &mut out);
        assert_eq!(out.len(), 80);
        assert_eq!(stream.frames_emitted(), 1);
    }

    #[test]
    fn finish_resets_for_the_next_signal() {
        let mut stream = LogMelStream::new(80).unwrap();
        let mut first = Vec::new();
        stream.push(&[0.25; 1000], &mut first);
        stream.finish(&mut first);
        let mut second = Vec::new();
        stream.push(&[0.25; 1000], &mut second);
        stream.finish(&mut second);
        assert_eq!(first, second);
        assert_eq!(first.len(), 6 * 80);
        assert_eq!(stream.frames_emitted(), 0);
    }

    #[test]
    fn buffer_stays_bounded_on_long_streams() {
        let mut stream = LogMelStream::new(80).unwrap();
        let mut out = Vec::new();
        for _ in 0..1000 {
            stream.push(&[0.5; 333], &mut out);
            out.clear();
        }
        assert!(stream.buffer.len() <= 2 * N_FFT, "{}", stream.buffer.len());
    }

    #[test]
    fn unsupported_n_mels_is_rejected() {
        let error = LogMelStream::new(64).unwrap_err();
        assert_eq!(error.to_string(), "n_mels must be 80 or 128, got 64");
    }
}
