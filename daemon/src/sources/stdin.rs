//! Raw little-endian PCM from a reader (normally the process's stdin) as an audio source.

use std::io::{ErrorKind, Read};

use percept_dsp::{PcmError, PcmFormat, StreamResampler, decode_pcm};
use serde::Deserialize;

use super::blocks::{BlockWriter, FullChannel};
use super::{AudioSource, SourceContext, SourceEnd, SourceError, SourceKind, SourceSpec};

/// Bytes asked for per read (plus room for a frame carried over from the previous read).
const READ_BYTES: usize = 8192;

/// Streams headerless PCM read from any byte stream until it ends.
///
/// Reads may split frames anywhere; an incomplete frame is carried into the next read. The
/// producer sets the pace (a full channel makes the source wait; nothing is lost). Shutdown is
/// seen between reads: a read that blocks on a silent pipe returns only when data or end of
/// stream arrives, so a caller that must not wait for that should not join this thread.
pub struct StdinSource {
    spec: SourceSpec,
    reader: Box<dyn Read + Send>,
    format: PcmFormat,
}

impl std::fmt::Debug for StdinSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdinSource")
            .field("spec", &self.spec)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl StdinSource {
    /// A source reading `format` samples of `channels` interleaved channels at `sample_rate`
    /// Hz from `reader`. Rejects a rate or channel count that cannot be decoded or resampled.
    pub fn new(
        reader: Box<dyn Read + Send>,
        format: PcmFormat,
        sample_rate: u32,
        channels: u16,
    ) -> Result<Self, SourceError> {
        let name = "stdin".to_owned();
        decode_pcm(&[], format, sample_rate, channels).map_err(|source| SourceError::Pcm {
            name: name.clone(),
            source,
        })?;
        StreamResampler::new(sample_rate, channels).map_err(|source| SourceError::Resample {
            name: name.clone(),
            source,
        })?;
        Ok(Self {
            spec: SourceSpec {
                name,
                kind: SourceKind::Stdin,
                sample_rate,
                channels,
            },
            reader,
            format,
        })
    }
}

impl AudioSource for StdinSource {
    fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    fn run(mut self: Box<Self>, cx: SourceContext) -> Result<SourceEnd, SourceError> {
        let spec = self.spec.clone();
        let pcm_error = |source| SourceError::Pcm {
            name: spec.name.clone(),
            source,
        };
        let mut writer = BlockWriter::new(
            &spec.name,
            spec.sample_rate,
            spec.channels,
            cx,
            FullChannel::Wait,
        )?;
        let frame_bytes = usize::from(spec.channels) * self.format.bytes_per_sample();
        let mut buffer = vec![0u8; frame_bytes + READ_BYTES];
        // Bytes of an incomplete frame kept at the start of `buffer`.
        let mut carried = 0;
        let mut frames_before = 0;
        let mut total_bytes = 0;
        loop {
            // The producer sets the pace: a silent pipe is not a stuck source.
            writer.heartbeat().waiting();
            let read = match self.reader.read(&mut buffer[carried..]) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(SourceError::Read {
                        name: spec.name.clone(),
                        source,
                    });
                }
            };
            total_bytes += read;
            let filled = carried + read;
            let whole = filled - filled % frame_bytes;
            let audio = decode_pcm(
                &buffer[..whole],
                self.format,
                spec.sample_rate,
                spec.channels,
            )
            .map_err(|error| pcm_error(offset_frame(error, frames_before)))?;
            frames_before += whole / frame_bytes;
            if let Some(end) = writer.write(&audio.samples) {
                return Ok(end);
            }
            buffer.copy_within(whole..filled, 0);
            carried = filled - whole;
        }
        if let Some(end) = writer.finish() {
            return Ok(end);
        }
        if carried > 0 {
            return Err(pcm_error(PcmError::PartialFrame {
                len: total_bytes,
                frame_bytes,
                leftover: carried,
            }));
        }
        Ok(SourceEnd::EndOfInput)
    }
}

/// Makes a decoder error's frame index count from the start of the stream, not of the read.
fn offset_frame(error: PcmError, frames_before: usize) -> PcmError {
    match error {
        PcmError::NonFiniteSample { frame, value } => PcmError::NonFiniteSample {
            frame: frame + frames_before,
            value,
        },
        other => other,
    }
}

/// Sample rates a `[[source]] kind = "stdin"` may declare, Hz.
const CONFIG_RATES: std::ops::RangeInclusive<u32> = 1_000..=768_000;
/// Channel counts it may declare.
const CONFIG_CHANNELS: std::ops::RangeInclusive<u16> = 1..=32;

/// `[[source]] kind = "stdin"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdinSourceConfig {
    /// The source's name. Default: `stdin`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Sample format: `s16le` or `f32le`.
    pub format: String,
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Interleaved channels. Default: 1.
    #[serde(default = "default_channels")]
    pub channels: u16,
}

fn default_name() -> String {
    "stdin".into()
}

fn default_channels() -> u16 {
    1
}

/// A checked stdin source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StdinPlan {
    /// The sample format (`format`, parsed).
    pub format: PcmFormat,
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
}

impl StdinSourceConfig {
    /// Checks the fields (problems under `key`); the plan when they pass.
    pub fn build(&self, key: &str, problems: &mut Vec<String>) -> Option<StdinPlan> {
        let before = problems.len();
        let format = self
            .format
            .parse::<PcmFormat>()
            .map_err(|e| problems.push(format!("{key}.format: {e}")))
            .ok();
        if !CONFIG_RATES.contains(&self.sample_rate) {
            problems.push(format!(
                "{key}.sample_rate: must be within {}..={} Hz, got {}",
                CONFIG_RATES.start(),
                CONFIG_RATES.end(),
                self.sample_rate
            ));
        }
        if !CONFIG_CHANNELS.contains(&self.channels) {
            problems.push(format!(
                "{key}.channels: must be within {}..={}, got {}",
                CONFIG_CHANNELS.start(),
                CONFIG_CHANNELS.end(),
                self.channels
            ));
        }
        let format = format.filter(|_| problems.len() == before)?;
        Some(StdinPlan {
            format,
            sample_rate: self.sample_rate,
            channels: self.channels,
        })
    }
}

impl StdinPlan {
    /// A source reading the process's standard input.
    pub fn open(&self) -> Result<StdinSource, SourceError> {
        StdinSource::new(
            Box::new(std::io::stdin()),
            self.format,
            self.sample_rate,
            self.channels,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::health::Metrics;
    use crate::shutdown::Shutdown;

    fn run_to_end(source: StdinSource) -> (Result<SourceEnd, SourceError>, Vec<f32>) {
        let (cx, rx) = SourceContext::new(1024, Shutdown::new(), Metrics::new());
        let result = Box::new(source).run(cx);
        (result, rx.try_iter().flat_map(|b| b.samples).collect())
    }

    /// A reader that hands out its bytes a few at a time, splitting frames.
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.bytes.len() - self.at);
            out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            self.step = self.step % 7 + 1;
            Ok(n)
        }
    }

    #[test]
    fn frames_split_across_reads_are_reassembled() {
        let samples: Vec<i16> = (0..4000).map(|i| (i % 200 - 100) * 100).collect();
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let reader = Trickle {
            bytes,
            at: 0,
            step: 3,
        };
        let source = StdinSource::new(Box::new(reader), PcmFormat::S16le, 16_000, 2).unwrap();
        let (result, out) = run_to_end(source);
        assert_eq!(result.unwrap(), SourceEnd::EndOfInput);
        let expected: Vec<f32> = samples
            .chunks(2)
            .map(|f| (f32::from(f[0]) / 32_768.0 + f32::from(f[1]) / 32_768.0) / 2.0)
            .collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn a_nan_sample_is_the_decoder_error_at_its_stream_position() {
        let mut values = vec![0.0f32; 5000];
        values[4321] = f32::NAN;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let source =
            StdinSource::new(Box::new(Cursor::new(bytes)), PcmFormat::F32le, 16_000, 1).unwrap();
        let (result, _) = run_to_end(source);
        assert_eq!(
            result.unwrap_err().to_string(),
            "stdin: bad raw PCM: sample at frame 4321 is NaN; PCM data must be finite"
        );
    }

    #[test]
    fn a_trailing_partial_frame_is_an_error_after_the_audio_is_delivered() {
        let source = StdinSource::new(
            Box::new(Cursor::new(vec![0u8; 7])),
            PcmFormat::S16le,
            16_000,
            1,
        )
        .unwrap();
        let (result, out) = run_to_end(source);
        assert_eq!(out.len(), 3);
        assert_eq!(
            result.unwrap_err().to_string(),
            "stdin: bad raw PCM: PCM data must be a whole number of 2-byte frames, but 7 bytes leave 1 bytes over"
        );
    }

    #[test]
    fn zero_rate_or_channels_are_rejected_at_construction() {
        let empty = || Box::new(Cursor::new(Vec::new())) as Box<dyn Read + Send>;
        let error = StdinSource::new(empty(), PcmFormat::S16le, 0, 1).unwrap_err();
        assert_eq!(
            error.to_string(),
            "stdin: bad raw PCM: sample_rate must be > 0, got 0"
        );
        let error = StdinSource::new(empty(), PcmFormat::S16le, 16_000, 0).unwrap_err();
        assert_eq!(
            error.to_string(),
            "stdin: bad raw PCM: channels must be > 0, got 0"
        );
        let error = StdinSource::new(empty(), PcmFormat::S16le, 10_000_000, 1).unwrap_err();
        assert!(
            error.to_string().contains("sample_rate must be <= 768000"),
            "{error}"
        );
    }
}
