//! A WAV file (or WAV bytes embedded in the binary) as an audio source, paced like a live
//! microphone or read as fast as the pipeline takes it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use percept_dsp::{Audio, decode_wav};
use serde::Deserialize;

use super::blocks::{BlockWriter, FullChannel};
use super::{AudioSource, SourceContext, SourceEnd, SourceError, SourceKind, SourceSpec};

/// Native audio per write in real-time mode: one block's worth (20 ms).
const REAL_TIME_CHUNK_MS: u64 = 20;
/// Native audio per write in fast mode.
const FAST_CHUNK_MS: u64 = 100;

/// How a file source moves through its audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Deliver audio at the rate it was recorded, like a microphone: each 20 ms chunk is sent
    /// when the monotonic clock reaches its end time (computed from the start, so sleeps never
    /// accumulate drift). If the channel is full the block is dropped and counted, as a device
    /// would overrun, so the source never falls behind the clock by more than a block.
    RealTime,
    /// Deliver audio as fast as the pipeline takes it: a full channel makes the source wait,
    /// and nothing is lost.
    Fast,
}

/// Streams decoded WAV audio, optionally looping it forever.
#[derive(Debug)]
pub struct FileSource {
    spec: SourceSpec,
    audio: Audio,
    pacing: Pacing,
    looping: bool,
}

impl FileSource {
    /// Reads and decodes the WAV file at `path`.
    pub fn open(
        path: impl AsRef<Path>,
        pacing: Pacing,
        looping: bool,
    ) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| SourceError::Read {
            name: name.clone(),
            source,
        })?;
        Self::from_wav_bytes(&name, &bytes, pacing, looping)
    }

    /// Decodes WAV bytes held in memory (e.g. a clip embedded with `include_bytes!`); `name`
    /// names it in the spec and in errors.
    pub fn from_wav_bytes(
        name: &str,
        bytes: &[u8],
        pacing: Pacing,
        looping: bool,
    ) -> Result<Self, SourceError> {
        let audio = decode_wav(bytes).map_err(|source| SourceError::Wav {
            name: name.to_owned(),
            source,
        })?;
        if audio.frames() == 0 {
            return Err(SourceError::Empty {
                name: name.to_owned(),
            });
        }
        Ok(Self {
            spec: SourceSpec {
                name: name.to_owned(),
                kind: SourceKind::File,
                sample_rate: audio.sample_rate,
                channels: audio.channels,
            },
            audio,
            pacing,
            looping,
        })
    }

    fn stream(self, writer: &mut BlockWriter) -> Option<SourceEnd> {
        let rate = u64::from(self.audio.sample_rate);
        let channels = usize::from(self.audio.channels);
        let chunk_ms = match self.pacing {
            Pacing::RealTime => REAL_TIME_CHUNK_MS,
            Pacing::Fast => FAST_CHUNK_MS,
        };
        let chunk_frames = (rate * chunk_ms / 1000).max(1) as usize;
        let whole_frames = &self.audio.samples[..self.audio.frames() * channels];
        let start = Instant::now();
        let mut frames_done: u64 = 0;
        loop {
            for chunk in whole_frames.chunks(chunk_frames * channels) {
                frames_done += (chunk.len() / channels) as u64;
                if self.pacing == Pacing::RealTime {
                    // The chunk is "recorded" once the clock passes its last frame.
                    let due = start + frames_to_duration(frames_done, rate);
                    let wait = due.saturating_duration_since(Instant::now());
                    if !wait.is_zero() && writer.shutdown().sleep(wait) {
                        return Some(SourceEnd::Shutdown);
                    }
                }
                if let Some(end) = writer.write(chunk) {
                    return Some(end);
                }
            }
            if !self.looping {
                return writer.finish();
            }
        }
    }
}

fn frames_to_duration(frames: u64, rate: u64) -> Duration {
    let nanos = u128::from(frames) * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl AudioSource for FileSource {
    fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    fn run(self: Box<Self>, cx: SourceContext) -> Result<SourceEnd, SourceError> {
        let on_full = match self.pacing {
            Pacing::RealTime => FullChannel::Shed,
            Pacing::Fast => FullChannel::Wait,
        };
        let mut writer = BlockWriter::new(
            &self.spec.name,
            self.spec.sample_rate,
            self.spec.channels,
            cx,
            on_full,
        )?;
        Ok(self.stream(&mut writer).unwrap_or(SourceEnd::EndOfInput))
    }
}

/// `[[source]] kind = "file"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// The source's name. Default: `file`.
    #[serde(default = "default_name")]
    pub name: String,
    /// The WAV file (any rate, any channel count, 8/16/24/32-bit PCM or float).
    pub path: PathBuf,
    /// Play it in real time like a live microphone (true) or as fast as inference allows
    /// (false: the endpointer waits for inference when `speech.max_backlog_ms` is reached, so
    /// no audio is shed and the finals are the same as in real time). Default: true.
    #[serde(default = "default_realtime")]
    pub realtime: bool,
    /// Start again at the end. Default: false (the daemon exits when the file ends).
    #[serde(default, rename = "loop")]
    pub looping: bool,
}

fn default_name() -> String {
    "file".into()
}

fn default_realtime() -> bool {
    true
}

/// A checked file source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePlan {
    /// The WAV file.
    pub path: PathBuf,
    /// Real time or as fast as inference allows (`realtime`).
    pub pacing: Pacing,
    /// Start again at the end.
    pub looping: bool,
}

impl FileSourceConfig {
    /// Checks the fields (problems under `key`); the plan when they pass.
    pub fn build(&self, key: &str, problems: &mut Vec<String>) -> Option<FilePlan> {
        if !self.path.is_file() {
            problems.push(format!(
                "{key}.path: {} is not a readable file",
                self.path.display()
            ));
            return None;
        }
        Some(FilePlan {
            path: self.path.clone(),
            pacing: if self.realtime {
                Pacing::RealTime
            } else {
                Pacing::Fast
            },
            looping: self.looping,
        })
    }
}

impl FilePlan {
    /// Reads and decodes the file.
    pub fn open(&self) -> Result<FileSource, SourceError> {
        FileSource::open(&self.path, self.pacing, self.looping)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_wav_is_one_clear_error_naming_the_clip() {
        let error = FileSource::from_wav_bytes("demo.wav", b"RIFX0000WAVE", Pacing::Fast, false)
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("demo.wav: not a usable WAV file: not a RIFF/WAVE file"),
            "{message}"
        );
        assert!(!message.contains('\n'));
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let error = FileSource::open("/nonexistent/x.wav", Pacing::Fast, false).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot read /nonexistent/x.wav: "),
            "{error}"
        );
    }

    #[test]
    fn a_wav_without_samples_is_rejected() {
        let bytes = percept_dsp::encode_wav_i16(&Audio {
            sample_rate: 16_000,
            channels: 1,
            samples: vec![],
        })
        .unwrap();
        let error =
            FileSource::from_wav_bytes("empty.wav", &bytes, Pacing::Fast, true).unwrap_err();
        assert_eq!(error.to_string(), "empty.wav: contains no audio samples");
    }

    #[test]
    fn frame_times_come_from_the_total_not_from_summed_sleeps() {
        assert_eq!(frames_to_duration(48_000, 48_000), Duration::from_secs(1));
        assert_eq!(frames_to_duration(1, 3), Duration::from_nanos(333_333_333));
        assert_eq!(frames_to_duration(3, 3), Duration::from_secs(1));
    }
}
