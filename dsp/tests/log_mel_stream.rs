//! Properties of the incremental log-mel: chunking never changes the frames.

use percept_dsp::whisper_mel::{HOP_LENGTH, LogMelStream};
use proptest::prelude::*;

fn stream_frames(samples: &[f32], chunk_sizes: &[usize], n_mels: usize) -> (Vec<f32>, usize) {
    let mut stream = LogMelStream::new(n_mels).unwrap();
    let mut out = Vec::new();
    let mut rest = samples;
    // Cycle through the chunk sizes (zeros included) until the input is used up.
    loop {
        for &size in chunk_sizes {
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            stream.push(chunk, &mut out);
            assert_eq!(out.len(), stream.frames_emitted() * n_mels);
            rest = tail;
        }
        if chunk_sizes.iter().all(|&size| size == 0) {
            stream.push(rest, &mut out);
            rest = &[];
        }
        if rest.is_empty() {
            break;
        }
    }
    let before_finish = stream.frames_emitted();
    stream.finish(&mut out);
    (out, before_finish)
}

fn signal(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|n| {
            ((n as f32 * 0.05 + seed as f32).sin() * 0.3)
                + ((n * 7919 + seed as usize) % 97) as f32 * 1e-3
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn chunked_log_mel_equals_one_push(
        len in prop_oneof![0usize..450, 0usize..5_000],
        chunk_sizes in prop::collection::vec(prop_oneof![Just(0usize), Just(1usize), 0usize..700], 1..10),
        seed in 0u32..1_000,
        n_mels in prop::sample::select(vec![80usize, 128]),
    ) {
        let samples = signal(len, seed);
        let (whole, _) = stream_frames(&samples, &[samples.len()], n_mels);
        let (chunked, _) = stream_frames(&samples, &chunk_sizes, n_mels);
        prop_assert_eq!(whole.len(), (len / HOP_LENGTH) * n_mels);
        prop_assert_eq!(chunked, whole);
    }
}

#[test]
fn frames_are_emitted_as_soon_as_their_samples_exist() {
    let samples = signal(16_000, 3);
    let mut stream = LogMelStream::new(80).unwrap();
    let mut out = Vec::new();
    for (pushed, &sample) in samples.iter().enumerate() {
        stream.push(&[sample], &mut out);
        let len = pushed + 1;
        // Frame t is centred on t * 160 and needs samples up to t * 160 + 199.
        let ready = if len < 201 {
            0
        } else {
            (len - 200) / HOP_LENGTH + 1
        };
        assert_eq!(stream.frames_emitted(), ready, "after {len} samples");
    }
    stream.finish(&mut out);
    assert_eq!(out.len(), 100 * 80);
}

#[test]
fn tiny_inputs_do_not_panic() {
    for len in 0..=401 {
        let (frames, _) = stream_frames(&signal(len, 1), &[1], 80);
        assert_eq!(frames.len(), len / HOP_LENGTH * 80, "len {len}");
        assert!(frames.iter().all(|v| v.is_finite()));
    }
}
