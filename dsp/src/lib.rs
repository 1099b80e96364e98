//! Audio DSP front end for perceptd.
//!
//! Decoders turn bytes into [`Audio`] ([`decode_wav`], [`decode_pcm`]), [`to_mono_16k`] and
//! [`StreamResampler`] bring it to Whisper's 16 kHz mono, and [`whisper_mel`] computes the
//! Whisper log-mel spectrogram (batch and streaming). [`sample_ring`] is the lock-free
//! single-producer single-consumer buffer between an audio device callback and its reader.
//! [`image::Preprocessor`] turns an [`RgbImage`] into a model's NCHW input (Pillow-exact
//! antialiased resize, centre crop, normalise; one `const` spec per model, e.g.
//! [`image::CLIP_PREPROCESS`]). No I/O happens here: everything works
//! on byte and sample slices, and user input never panics.

pub mod audio;
mod finite;
pub mod image;
pub mod pcm;
pub mod rate;
pub mod resample;
pub mod ring;
mod sample_codec;
pub mod wav;
pub mod whisper_mel;

pub use audio::Audio;
pub use image::RgbImage;
pub use pcm::{PcmError, PcmFormat, decode_pcm};
pub use rate::SAMPLE_RATE;
pub use resample::{ResampleError, StreamResampler, to_mono_16k};
pub use ring::{RingConsumer, RingProducer, sample_ring};
pub use wav::{WavEncodeError, WavError, decode_wav, encode_wav_i16};
pub use whisper_mel::{
    LogMelStream, MelError, MelSpectrogram, log_mel_spectrogram, mel_filters, normalize_log_mel,
};
