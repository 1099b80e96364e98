//! The file, embedded-WAV and stdin sources, each through the one conformance check, plus the
//! behaviour only some of them have (looping, real-time shedding). The microphone runs the same
//! check in `mic_capture.rs`, against a private PulseAudio server.

mod source_conformance;

use std::io::Cursor;
use std::time::Duration;

use percept_dsp::{Audio, PcmFormat, decode_pcm, decode_wav, encode_wav_i16, to_mono_16k};
use perceptd::health::{Counter, Metrics};
use perceptd::shutdown::Shutdown;
use perceptd::sources::{
    AudioSource, FileSource, Pacing, SourceContext, SourceEnd, SourceKind, StdinSource,
};
use source_conformance::{Expected, assert_samples_match, check_source_delivers};

/// `secs` of stereo test audio: a 440 Hz sine on the left, a different (523 Hz, quieter) sine
/// plus a deterministic ramp on the right, so a channel swap or a wrong down-mix shows.
fn stereo(rate: u32, secs: f64) -> Audio {
    let frames = (f64::from(rate) * secs) as usize;
    let samples = (0..frames)
        .flat_map(|n| {
            let t = n as f64 / f64::from(rate);
            let left = 0.5 * (2.0 * std::f64::consts::PI * 440.0 * t).sin();
            let right =
                0.25 * (2.0 * std::f64::consts::PI * 523.0 * t).sin() + (n % 97) as f64 / 970.0;
            [left as f32, right as f32]
        })
        .collect();
    Audio {
        sample_rate: rate,
        channels: 2,
        samples,
    }
}

/// A 48 kHz stereo 16-bit WAV file and the 16 kHz mono samples it must turn into.
fn stereo_wav(secs: f64) -> (Vec<u8>, Vec<f32>) {
    let bytes = encode_wav_i16(&stereo(48_000, secs)).unwrap();
    let expected = to_mono_16k(&decode_wav(&bytes).unwrap()).unwrap();
    (bytes, expected)
}

#[test]
fn a_wav_file_read_fast_passes_the_conformance_check() {
    let (bytes, expected) = stereo_wav(1.0);
    let dir = std::env::temp_dir().join(format!("perceptd-sources-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stereo48k.wav");
    std::fs::write(&path, &bytes).unwrap();
    let spec = FileSource::open(&path, Pacing::Fast, false)
        .unwrap()
        .spec()
        .clone();
    assert_eq!(
        (spec.kind, spec.sample_rate, spec.channels),
        (SourceKind::File, 48_000, 2)
    );
    check_source_delivers(
        &|| Box::new(FileSource::open(&path, Pacing::Fast, false).unwrap()),
        &Expected::Samples(&expected),
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_wav_file_paced_in_real_time_passes_the_conformance_check() {
    let (bytes, expected) = stereo_wav(1.0);
    check_source_delivers(
        &|| {
            Box::new(
                FileSource::from_wav_bytes("stereo48k.wav", &bytes, Pacing::RealTime, false)
                    .unwrap(),
            )
        },
        &Expected::Samples(&expected),
    );
}

#[test]
fn s16le_on_stdin_passes_the_conformance_check() {
    let audio = stereo(44_100, 1.0);
    let bytes: Vec<u8> = audio
        .samples
        .iter()
        .flat_map(|&s| ((s * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16).to_le_bytes())
        .collect();
    let expected = to_mono_16k(&decode_pcm(&bytes, PcmFormat::S16le, 44_100, 2).unwrap()).unwrap();
    check_source_delivers(
        &|| {
            Box::new(
                StdinSource::new(
                    Box::new(Cursor::new(bytes.clone())),
                    PcmFormat::S16le,
                    44_100,
                    2,
                )
                .unwrap(),
            )
        },
        &Expected::Samples(&expected),
    );
}

#[test]
fn f32le_on_stdin_passes_the_conformance_check() {
    let audio = stereo(48_000, 1.0);
    let bytes: Vec<u8> = audio.samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let expected = to_mono_16k(&audio).unwrap();
    check_source_delivers(
        &|| {
            Box::new(
                StdinSource::new(
                    Box::new(Cursor::new(bytes.clone())),
                    PcmFormat::F32le,
                    48_000,
                    2,
                )
                .unwrap(),
            )
        },
        &Expected::Samples(&expected),
    );
}

#[test]
fn a_looping_file_continues_seamlessly_into_its_next_pass() {
    let (bytes, _) = stereo_wav(0.5);
    let audio = decode_wav(&bytes).unwrap();
    let mut three_passes = audio.clone();
    three_passes.samples = audio.samples.repeat(3);
    let expected = to_mono_16k(&three_passes).unwrap();
    let two_passes = 2 * to_mono_16k(&audio).unwrap().len();

    let shutdown = Shutdown::new();
    let (cx, rx) = SourceContext::new(4, shutdown.clone(), Metrics::new());
    let source = FileSource::from_wav_bytes("loop.wav", &bytes, Pacing::Fast, true).unwrap();
    let thread = std::thread::spawn(move || Box::new(source).run(cx));
    let mut got = Vec::new();
    while got.len() < two_passes {
        let block = rx.recv_timeout(Duration::from_secs(30)).expect("a block");
        got.extend(block.samples);
    }
    shutdown.trigger();
    drop(rx);
    let end = thread.join().unwrap().unwrap();
    assert!(matches!(
        end,
        SourceEnd::Shutdown | SourceEnd::ReceiverClosed
    ));
    assert_samples_match(&got[..two_passes], &expected[..two_passes]);
}

#[test]
fn a_real_time_file_facing_a_full_channel_drops_blocks_and_reports_them() {
    let (bytes, expected) = stereo_wav(1.5);
    let metrics = Metrics::new();
    let (cx, rx) = SourceContext::new(2, Shutdown::new(), metrics.clone());
    let source = FileSource::from_wav_bytes("rt.wav", &bytes, Pacing::RealTime, false).unwrap();
    let thread = std::thread::spawn(move || Box::new(source).run(cx));
    // A stalled pipeline: nothing is received for half a second, then everything is drained.
    std::thread::sleep(Duration::from_millis(500));
    let mut position = 0usize;
    let mut dropped = 0u64;
    let mut lengths = 0usize;
    for block in rx.iter() {
        dropped += block.dropped_samples;
        position += block.dropped_samples as usize;
        // Each delivered block is the audio at its place in the stream, after the gap.
        assert_samples_match(
            &block.samples,
            &expected[position..position + block.samples.len()],
        );
        position += block.samples.len();
        lengths += block.samples.len();
    }
    assert_eq!(thread.join().unwrap().unwrap(), SourceEnd::EndOfInput);
    assert!(dropped > 0, "nothing was dropped");
    assert_eq!(lengths as u64 + dropped, expected.len() as u64);
    assert_eq!(
        metrics.get(Counter::DroppedAudioMs),
        dropped * 1000 / 16_000
    );
    assert_eq!(metrics.get(Counter::AudioSamplesIn), lengths as u64);
}

#[test]
fn the_embedded_demo_clip_opens_as_a_looping_source() {
    let bytes = include_bytes!("../configs/demo-speech.wav");
    let source =
        FileSource::from_wav_bytes("demo-speech.wav", bytes, Pacing::RealTime, true).unwrap();
    let audio = decode_wav(bytes).unwrap();
    assert_eq!(source.spec().name, "demo-speech.wav");
    assert_eq!(source.spec().sample_rate, audio.sample_rate);
    assert_eq!(source.spec().channels, audio.channels);
}
