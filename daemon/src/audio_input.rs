//! Reading audio for the CLI: a WAV file, or raw PCM from stdin or a file, converted to 16 kHz
//! mono for Whisper.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use percept_dsp::audio::Audio;
use percept_dsp::pcm::{PcmFormat, decode_pcm};
use percept_dsp::wav::decode_wav;

/// How to interpret the input bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// A RIFF/WAVE file.
    Wav,
    /// Headerless PCM.
    Raw {
        /// Sample format.
        format: PcmFormat,
        /// Sample rate in Hz.
        rate: u32,
        /// Channel count.
        channels: u16,
    },
}

impl InputFormat {
    /// WAV unless `--format` is given; raw PCM needs all three of format, rate and channels.
    pub fn from_args(
        format: Option<&str>,
        rate: Option<u32>,
        channels: Option<u16>,
        stdin: bool,
    ) -> Result<Self> {
        match (format, rate, channels) {
            (None, None, None) if !stdin => Ok(Self::Wav),
            (Some(f), Some(rate), Some(channels)) => {
                let format: PcmFormat = f.parse().map_err(|e| anyhow::anyhow!("--format: {e}"))?;
                Ok(Self::Raw {
                    format,
                    rate,
                    channels,
                })
            }
            _ if stdin => bail!("reading stdin needs --format s16le|f32le, --rate and --channels"),
            _ => bail!("raw PCM needs all of --format, --rate and --channels"),
        }
    }
}

/// Reads `input` (a path, or `-` for stdin) and decodes it.
pub fn read_audio(input: &str, format: InputFormat) -> Result<Audio> {
    let bytes = if input == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("reading stdin")?;
        bytes
    } else {
        std::fs::read(Path::new(input)).with_context(|| format!("cannot read {input}"))?
    };
    let audio = match format {
        InputFormat::Wav => {
            decode_wav(&bytes).with_context(|| format!("{input}: not a usable WAV file"))?
        }
        InputFormat::Raw {
            format,
            rate,
            channels,
        } => decode_pcm(&bytes, format, rate, channels)
            .with_context(|| format!("{input}: bad raw PCM"))?,
    };
    if audio.samples.is_empty() {
        bail!("{input}: contains no audio samples");
    }
    Ok(audio)
}

/// Reads and converts to 16 kHz mono.
pub fn read_audio_16k(input: &str, format: InputFormat) -> Result<Vec<f32>> {
    let audio = read_audio(input, format)?;
    percept_dsp::resample::to_mono_16k(&audio)
        .with_context(|| format!("{input}: resampling to 16 kHz"))
}
