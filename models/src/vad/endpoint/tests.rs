//! The endpointer on synthetic probability sequences.

use super::*;

mod config_rules;
mod properties;

const SPEECH: f32 = 0.9;
const SILENCE: f32 = 0.05;
/// Between the default neg_threshold (0.35) and threshold (0.5).
const UNSURE: f32 = 0.42;

/// Samples at the start of chunk `i`.
fn at(chunk: u64) -> u64 {
    chunk * CHUNK
}

fn ms(ms: u32) -> u64 {
    ms_to_samples(ms)
}

/// Runs the probabilities through a new endpointer, then `finish()`; returns each event with the
/// index of the chunk whose push produced it (`probs.len()` for `finish`).
fn run(config: EndpointConfig, probs: &[f32]) -> Vec<(usize, VadEvent)> {
    let mut endpointer = Endpointer::new(config).expect("valid test config");
    let mut events = Vec::new();
    for (i, &p) in probs.iter().enumerate() {
        events.extend(endpointer.push(p).into_iter().map(|e| (i, e)));
    }
    events.extend(endpointer.finish().into_iter().map(|e| (probs.len(), e)));
    events
}

/// `runs` of (probability, chunks) concatenated.
fn seq(runs: &[(f32, usize)]) -> Vec<f32> {
    runs.iter()
        .flat_map(|&(p, n)| std::iter::repeat_n(p, n))
        .collect()
}

fn ranges(events: &[(usize, VadEvent)]) -> Vec<(u64, u64, bool)> {
    events
        .iter()
        .filter_map(|(_, e)| match *e {
            VadEvent::End {
                start_sample,
                end_sample,
                split,
            } => Some((start_sample, end_sample, split)),
            VadEvent::Start { .. } => None,
        })
        .collect()
}

#[test]
fn the_default_config_is_valid_and_matches_the_documented_values() {
    let config = EndpointConfig::default();
    config.validate().unwrap();
    assert_eq!(config.threshold, 0.5);
    assert!((config.effective_neg_threshold() - 0.35).abs() < 1e-6);
    assert_eq!(
        (
            config.min_speech_ms,
            config.min_silence_ms,
            config.speech_pad_ms,
            config.max_utterance_ms
        ),
        (250, 500, 200, 20_000)
    );
    assert_eq!(
        (config.soft_max_utterance_ms, config.soft_min_silence_ms),
        (2_000, 96)
    );
}

#[test]
fn a_short_pause_ends_an_utterance_only_once_it_is_past_the_soft_limit() {
    // 5 chunks (160 ms) of silence every 60 chunks (1.92 s): with min_silence 500 ms none of
    // them would end anything; past the 5 s soft limit the first one does.
    let mut probs = vec![SILENCE; 10];
    for _ in 0..6 {
        probs.extend(seq(&[(SPEECH, 55), (SILENCE, 5)]));
    }
    probs.extend(seq(&[(SILENCE, 30)]));
    let config = EndpointConfig {
        soft_max_utterance_ms: 5_000,
        ..EndpointConfig::default()
    };
    let events = run(config, &probs);
    let got = ranges(&events);
    // Speech starts at chunk 10 (padded to at(10) − 200 ms). The pauses start at chunks
    // 65, 125, 185, …; the one at 185 is the first past 5 s (at(185) − at(10) + 200 ms ≈ 5.8 s);
    // the one at 125 (3.9 s) is not. The utterance ends after 3 pause chunks (96 ms), at the end
    // of the pause's 3rd chunk (padding clamped to the samples seen).
    assert_eq!(got[0], (at(10) - ms(200), at(188), false), "{events:?}");
    assert!(got[0].1 - got[0].0 <= ms(10_000));
    // The next utterance starts where the previous one ended (its padding is clamped) and the
    // rest follows the same rule.
    assert_eq!(got[1].0, at(188));
    assert!(got.iter().all(|r| !r.2), "no hard splits: {got:?}");
}

#[test]
fn without_a_pause_the_hard_limit_still_splits_and_the_soft_limit_can_be_turned_off() {
    let probs = seq(&[(SILENCE, 10), (SPEECH, 700), (SILENCE, 30)]);
    let got = ranges(&run(EndpointConfig::default(), &probs));
    assert!(got[0].2, "split at the hard limit: {got:?}");
    assert!(got[0].1 - got[0].0 <= ms(20_000));
    let mut pauses = vec![SILENCE; 10];
    for _ in 0..6 {
        pauses.extend(seq(&[(SPEECH, 55), (SILENCE, 5)]));
    }
    pauses.extend(seq(&[(SILENCE, 30)]));
    let off = EndpointConfig {
        soft_max_utterance_ms: 0,
        ..EndpointConfig::default()
    };
    assert_eq!(
        ranges(&run(off, &pauses)).len(),
        1,
        "one utterance without the soft limit"
    );
}

#[test]
fn silence_alone_produces_no_events() {
    assert!(run(EndpointConfig::default(), &seq(&[(SILENCE, 200)])).is_empty());
}

#[test]
fn blips_shorter_than_min_speech_are_ignored() {
    // 7 chunks = 224 ms < 250 ms, separated by enough silence to end each candidate.
    let probs = seq(&[
        (SILENCE, 20),
        (SPEECH, 7),
        (SILENCE, 30),
        (SPEECH, 1),
        (SILENCE, 30),
        (SPEECH, 7),
    ]);
    assert!(run(EndpointConfig::default(), &probs).is_empty());
}

#[test]
fn speech_reaching_min_speech_starts_an_utterance_in_the_past_with_padding() {
    // 8 chunks = 256 ms ≥ 250 ms.
    let probs = seq(&[(SILENCE, 50), (SPEECH, 8), (SILENCE, 40)]);
    let events = run(EndpointConfig::default(), &probs);
    assert_eq!(
        events,
        vec![
            (
                57,
                VadEvent::Start {
                    start_sample: at(50) - ms(200)
                }
            ),
            // The silence starts at chunk 58; 16 chunks (512 ms) reach min_silence at chunk 73.
            (
                73,
                VadEvent::End {
                    start_sample: at(50) - ms(200),
                    end_sample: at(58) + ms(200),
                    split: false
                }
            ),
        ]
    );
}

#[test]
fn pre_padding_is_clamped_at_the_start_of_the_stream() {
    let events = run(
        EndpointConfig::default(),
        &seq(&[(SPEECH, 20), (SILENCE, 20)]),
    );
    assert_eq!(events[0].1, VadEvent::Start { start_sample: 0 });
}

/// The defaults with the soft limit at 5 s, so utterances of 2–5 s end only at `min_silence_ms`.
fn before_the_soft_limit() -> EndpointConfig {
    EndpointConfig {
        soft_max_utterance_ms: 5_000,
        ..EndpointConfig::default()
    }
}

#[test]
fn a_pause_shorter_than_min_silence_keeps_the_utterance_open() {
    // 15 chunks = 480 ms < 500 ms; 16 chunks = 512 ms is enough.
    let probs = seq(&[(SPEECH, 20), (SILENCE, 15), (SPEECH, 20), (SILENCE, 16)]);
    let events = run(before_the_soft_limit(), &probs);
    assert_eq!(
        ranges(&events),
        vec![(0, at(55) + ms(200), false)],
        "{events:?}"
    );
    assert_eq!(
        events.last().unwrap().0,
        70,
        "ends on the 16th silent chunk"
    );
}

#[test]
fn probabilities_between_the_thresholds_neither_start_nor_end_speech() {
    let config = before_the_soft_limit();
    // Alone, they never start an utterance.
    assert!(run(config, &seq(&[(UNSURE, 100)])).is_empty());
    // After speech, 64 chunks (2 s) of them keep the utterance going and extend it.
    let probs = seq(&[(SPEECH, 20), (UNSURE, 64), (SILENCE, 20)]);
    assert_eq!(
        ranges(&run(config, &probs)),
        vec![(0, at(84) + ms(200), false)]
    );
}

#[test]
fn probabilities_between_the_thresholds_do_not_cancel_a_silence_in_progress() {
    // Silence starts at chunk 20; the unsure chunks neither reset it nor move the end.
    let probs = seq(&[(SPEECH, 20), (SILENCE, 4), (UNSURE, 8), (SILENCE, 10)]);
    let events = run(EndpointConfig::default(), &probs);
    assert_eq!(ranges(&events), vec![(0, at(20) + ms(200), false)]);
    assert_eq!(
        events[1].0, 35,
        "ends when the silence begun at chunk 20 is 16 chunks old"
    );
}

#[test]
fn a_speech_chunk_cancels_a_silence_in_progress() {
    let probs = seq(&[
        (SPEECH, 20),
        (SILENCE, 12),
        (SPEECH, 1),
        (SILENCE, 12),
        (SPEECH, 1),
    ]);
    let mut endpointer = Endpointer::new(EndpointConfig::default()).unwrap();
    for p in probs {
        assert!(
            endpointer
                .push(p)
                .iter()
                .all(|e| matches!(e, VadEvent::Start { .. }))
        );
    }
    assert!(endpointer.is_open());
}

#[test]
fn a_lower_threshold_with_its_own_neg_threshold_changes_what_counts_as_speech() {
    let config = EndpointConfig {
        threshold: 0.3,
        neg_threshold: Some(0.2),
        ..EndpointConfig::default()
    };
    let probs = seq(&[(0.1, 10), (0.35, 20), (0.25, 10), (0.1, 20)]);
    assert_eq!(
        ranges(&run(config, &probs)),
        vec![(at(10) - ms(200), at(40) + ms(200), false)]
    );
}

#[test]
fn pre_padding_never_reaches_back_into_the_previous_utterance() {
    let config = EndpointConfig {
        speech_pad_ms: 400,
        ..EndpointConfig::default()
    };
    // Gap of 17 chunks (544 ms): the first ends at at(30) + 400 ms, the second's padding would
    // start at at(47) − 400 ms = at(30) + 144 ms.
    let probs = seq(&[
        (SILENCE, 20),
        (SPEECH, 10),
        (SILENCE, 17),
        (SPEECH, 10),
        (SILENCE, 30),
    ]);
    let r = ranges(&run(config, &probs));
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[0].1, at(30) + ms(400));
    assert_eq!(r[1].0, r[0].1);
}

#[test]
fn finish_closes_an_open_utterance_at_the_end_of_the_stream() {
    let probs = seq(&[(SILENCE, 10), (SPEECH, 30)]);
    let events = run(EndpointConfig::default(), &probs);
    assert_eq!(
        ranges(&events),
        vec![(at(10) - ms(200), at(40), false)],
        "ends at the last sample seen"
    );
    assert_eq!(events.last().unwrap().0, probs.len(), "from finish()");
}

#[test]
fn finish_during_a_pause_ends_at_the_pause_plus_padding() {
    let probs = seq(&[(SPEECH, 30), (SILENCE, 10)]);
    assert_eq!(
        ranges(&run(EndpointConfig::default(), &probs)),
        vec![(0, at(30) + ms(200), false)]
    );
    // …clamped to the samples seen when the pause is shorter than the padding.
    let probs = seq(&[(SPEECH, 30), (SILENCE, 2)]);
    assert_eq!(
        ranges(&run(EndpointConfig::default(), &probs)),
        vec![(0, at(32), false)]
    );
}

#[test]
fn finish_drops_an_unconfirmed_candidate_and_keeps_counting() {
    let mut endpointer = Endpointer::new(EndpointConfig::default()).unwrap();
    for p in seq(&[(SILENCE, 10), (SPEECH, 3)]) {
        assert!(endpointer.push(p).is_empty());
    }
    assert!(endpointer.finish().is_empty());
    assert!(!endpointer.is_open());
    assert_eq!(endpointer.position(), at(13));
    endpointer.reset();
    assert_eq!(endpointer.position(), 0);
}

#[test]
fn is_open_is_true_between_start_and_end() {
    let mut endpointer = Endpointer::new(EndpointConfig::default()).unwrap();
    let mut open_states = Vec::new();
    for p in seq(&[(SPEECH, 10), (SILENCE, 20)]) {
        endpointer.push(p);
        open_states.push(endpointer.is_open());
    }
    // Confirmed on the 8th speech chunk; the 16th silent chunk (index 25) ends it.
    let expected: Vec<bool> = (0..30).map(|i| (7..25).contains(&i)).collect();
    assert_eq!(open_states, expected);
}

/// Config with a 4 s limit (125 chunks) for the split tests.
fn split_config() -> EndpointConfig {
    EndpointConfig {
        max_utterance_ms: 4000,
        soft_max_utterance_ms: 0,
        ..EndpointConfig::default()
    }
}

#[test]
fn a_long_utterance_is_split_at_the_quietest_chunk_of_its_second_half() {
    // Speech from chunk 0; after chunk 124 the next chunk would make it 4.032 s > 4 s, so it is
    // split then. A deeper dip in the first half must not be chosen.
    let mut probs = seq(&[(SPEECH, 200), (SILENCE, 30)]);
    probs[30] = 0.51; // first half: ignored
    probs[80] = 0.6;
    probs[100] = 0.55; // quietest in chunks 63..125
    let events = run(split_config(), &probs);
    assert_eq!(
        events,
        vec![
            (7, VadEvent::Start { start_sample: 0 }),
            (
                124,
                VadEvent::End {
                    start_sample: 0,
                    end_sample: at(100),
                    split: true
                }
            ),
            (
                124,
                VadEvent::Start {
                    start_sample: at(100)
                }
            ),
            (
                215,
                VadEvent::End {
                    start_sample: at(100),
                    end_sample: at(200) + ms(200),
                    split: false
                }
            ),
        ]
    );
}

#[test]
fn split_pieces_cover_long_speech_contiguously_and_respect_the_limit() {
    // 60 s of speech with a deterministic ripple, then silence.
    let mut probs: Vec<f32> = (0..1875)
        .map(|i| 0.7 + 0.25 * ((i * 37 % 101) as f32 / 101.0))
        .collect();
    probs.extend(seq(&[(SILENCE, 40)]));
    let config = split_config();
    let r = ranges(&run(config, &probs));
    assert!(r.len() >= 15, "60 s in pieces of at most 4 s: {r:?}");
    assert_eq!(r[0].0, 0);
    assert_eq!(r.last().unwrap().1, at(1875) + ms(200));
    for pair in r.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "contiguous: {pair:?}");
        assert!(pair[0].2, "all but the last are splits");
    }
    for &(start, end, split) in &r {
        assert!(end - start <= ms(config.max_utterance_ms), "{start}..{end}");
        if split {
            assert!(
                end - start >= ms(config.max_utterance_ms) / 2,
                "{start}..{end}"
            );
        }
    }
}

#[test]
fn a_pause_that_ends_the_utterance_within_the_limit_prevents_a_split() {
    // The limit is reached during a pause begun at chunk 118; ending there (at(118) + 200 ms =
    // 3.976 s) fits, so there is no split.
    let mut probs = seq(&[(SPEECH, 118), (SILENCE, 40)]);
    probs[110] = 0.52;
    assert_eq!(
        ranges(&run(split_config(), &probs)),
        vec![(0, at(118) + ms(200), false)]
    );
}

#[test]
fn a_split_never_lands_inside_a_pause_that_would_end_too_late() {
    // The pause begins at chunk 124: ending there would take 4.168 s, so the utterance is split
    // before the pause, and the piece after the split still holds speech.
    let mut probs = seq(&[(SPEECH, 124), (SILENCE, 40)]);
    probs[110] = 0.52;
    assert_eq!(
        ranges(&run(split_config(), &probs)),
        vec![(0, at(110), true), (at(110), at(124) + ms(200), false)]
    );
}

#[test]
fn speech_resuming_after_a_pause_past_the_limit_splits_at_the_pause() {
    // Pause in chunks 118..126, speech again from 126 (beyond the 125-chunk limit): split at
    // the pause's first chunk, the earliest of the equally quiet ones.
    let probs = seq(&[(SPEECH, 118), (SILENCE, 8), (SPEECH, 60), (SILENCE, 30)]);
    let events = run(split_config(), &probs);
    assert_eq!(
        ranges(&events),
        vec![(0, at(118), true), (at(118), at(186) + ms(200), false)]
    );
    assert_eq!(events[1].0, 126, "split when speech resumed");
}

#[test]
fn a_pending_end_names_the_end_a_pause_will_give_and_clears_when_speech_resumes() {
    let c = EndpointConfig::default();
    let mut e = Endpointer::new(c).unwrap();
    // 1 s of speech, then a pause: pending once the pause holds the 200 ms padding (7 chunks).
    for _ in 0..31 {
        e.push(0.9);
    }
    let mut pending = Vec::new();
    for _ in 0..10 {
        e.push(0.05);
        pending.push(e.pending_end());
    }
    let expected = Some((0, at(31) + ms(c.speech_pad_ms)));
    assert_eq!(pending[..6], [None; 6]);
    assert!(pending[6..].iter().all(|p| *p == expected), "{pending:?}");
    e.push(0.9);
    assert_eq!(e.pending_end(), None, "speech resumed");
    // A pause that does end it: the End is exactly the pending one.
    let mut last_pending = None;
    let mut end = None;
    for _ in 0..40 {
        let events = e.push(0.05);
        if end.is_none() {
            end = events.into_iter().find_map(|ev| match ev {
                VadEvent::End {
                    start_sample,
                    end_sample,
                    ..
                } => Some((start_sample, end_sample)),
                _ => None,
            });
            if end.is_none() {
                last_pending = e.pending_end();
            }
        }
    }
    assert!(last_pending.is_some());
    assert_eq!(end, last_pending);
    assert_eq!(e.pending_end(), None, "ended");
}
