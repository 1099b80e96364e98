//! Properties of the endpointer over random probability streams and configs.

use proptest::prelude::*;

use super::*;

/// A random probability stream: runs of one level each, mixing speech, unsure and silence.
fn prob_stream() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec((0.0f32..1.0, 1usize..200), 0..40).prop_map(|runs| {
        runs.into_iter()
            .flat_map(|(p, n)| std::iter::repeat_n(p, n))
            .collect()
    })
}

fn any_valid_config() -> impl Strategy<Value = EndpointConfig> {
    (
        0.05f32..1.0,
        prop::option::of(0.0f32..1.0),
        32u32..600,
        32u32..1200,
        0u32..600,
        0u32..30_000,
        (0.0f64..1.0, 0.0f64..1.0),
    )
        .prop_map(
            |(threshold, neg_fraction, speech, silence, pad, extra, (soft_max, soft_silence))| {
                let mut config = EndpointConfig {
                    threshold,
                    // A fraction of threshold, so it is valid; None needs threshold > 0.15.
                    neg_threshold: neg_fraction.map(|f| (f * threshold).max(1e-3)),
                    min_speech_ms: speech,
                    min_silence_ms: silence,
                    speech_pad_ms: pad,
                    soft_max_utterance_ms: 0,
                    soft_min_silence_ms: (soft_silence * f64::from(silence)) as u32,
                    max_utterance_ms: 0,
                };
                if config.neg_threshold.is_none() && threshold <= DEFAULT_HYSTERESIS {
                    config.neg_threshold = Some(threshold / 2.0);
                }
                // At least the durations' minimum and 2 s, at most one 30 s window.
                let floor = (config.min_max_utterance_ms() as u32).max(2_000);
                config.max_utterance_ms = (floor + extra).min(30_000);
                config.soft_max_utterance_ms =
                    (soft_max * f64::from(config.max_utterance_ms)) as u32;
                config
            },
        )
}

proptest! {
    #[test]
    fn emitted_ranges_are_ordered_non_overlapping_paired_and_within_the_stream(
        config in any_valid_config(),
        probs in prob_stream(),
    ) {
        prop_assert!(config.validate().is_ok(), "{:?}", config.validate());
        let events = run(config, &probs);
        let stream_len = at(probs.len() as u64);
        let mut open: Option<u64> = None;
        let mut previous_end = 0u64;
        let mut split_at: Option<u64> = None;
        for &(_, event) in &events {
            match event {
                VadEvent::Start { start_sample } => {
                    prop_assert!(open.is_none(), "Start while open: {events:?}");
                    prop_assert!(start_sample >= previous_end, "overlap: {events:?}");
                    if let Some(s) = split_at.take() {
                        prop_assert_eq!(start_sample, s, "a split continues at once");
                    }
                    open = Some(start_sample);
                }
                VadEvent::End { start_sample, end_sample, split } => {
                    prop_assert!(split_at.is_none(), "a split must be followed by a Start");
                    prop_assert_eq!(open.take(), Some(start_sample), "End pairs with its Start");
                    prop_assert!(start_sample < end_sample, "non-empty: {events:?}");
                    prop_assert!(end_sample <= stream_len, "within the stream: {events:?}");
                    prop_assert!(
                        end_sample - start_sample <= ms(config.max_utterance_ms),
                        "at most max_utterance_ms: {events:?}"
                    );
                    previous_end = end_sample;
                    if split {
                        split_at = Some(end_sample);
                    }
                }
            }
        }
        prop_assert!(open.is_none(), "finish() closes everything");
        prop_assert!(split_at.is_none());
    }

    #[test]
    fn finish_emits_one_end_exactly_when_an_utterance_is_open(probs in prob_stream()) {
        let config = EndpointConfig::default();
        let mut endpointer = Endpointer::new(config).unwrap();
        let mut all = Vec::new();
        for &p in &probs {
            all.extend(endpointer.push(p));
        }
        let before_finish = all.len();
        all.extend(endpointer.finish());
        prop_assert!(all.len() - before_finish <= 1);
        prop_assert_eq!(all.len() - before_finish == 1, {
            let mut e = Endpointer::new(config).unwrap();
            for &p in &probs { e.push(p); }
            e.is_open()
        });
    }
}
