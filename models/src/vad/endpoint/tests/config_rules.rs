//! `EndpointConfig::validate` and reading the config.

use super::*;

#[test]
fn soft_settings_outside_their_bounds_are_reported() {
    let config = EndpointConfig {
        soft_min_silence_ms: 600,
        soft_max_utterance_ms: 25_000,
        ..EndpointConfig::default()
    };
    let err = config.validate().unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
    assert!(err.problems[0].starts_with("soft_min_silence_ms: must be ≤ min_silence_ms = 500"));
    assert!(err.problems[1].starts_with("soft_max_utterance_ms: must be ≤ max_utterance_ms"));
}

#[test]
fn validate_reports_every_problem_with_its_field() {
    let config = EndpointConfig {
        threshold: 1.5,
        neg_threshold: Some(-0.1),
        max_utterance_ms: 1000,
        soft_max_utterance_ms: 0,
        ..EndpointConfig::default()
    };
    let err = config.validate().unwrap_err();
    assert_eq!(err.problems.len(), 3, "{err}");
    assert!(err.problems[0].starts_with("threshold: must be in (0, 1), got 1.5"));
    assert!(err.problems[1].starts_with("neg_threshold: must be in (0, threshold"));
    assert!(err.problems[2].contains("max_utterance_ms: must be ≥"));
    assert!(err.problems[2].contains("= 1964, got 1000"), "{err}");
    assert!(Endpointer::new(config).is_err());
}

#[test]
fn an_unset_neg_threshold_below_zero_is_reported_as_derived_from_threshold() {
    let config = EndpointConfig {
        threshold: 0.1,
        ..EndpointConfig::default()
    };
    let err = config.validate().unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert!(
        err.problems[0].contains("unset, so threshold − 0.15"),
        "{err}"
    );
}

#[test]
fn a_neg_threshold_above_threshold_is_rejected() {
    let config = EndpointConfig {
        neg_threshold: Some(0.6),
        ..EndpointConfig::default()
    };
    assert!(config.validate().is_err());
}

#[test]
fn a_threshold_of_one_is_rejected() {
    let config = EndpointConfig {
        threshold: 1.0,
        ..EndpointConfig::default()
    };
    let err = config.validate().unwrap_err();
    assert_eq!(
        err.problems,
        vec!["threshold: must be in (0, 1), got 1".to_string()]
    );
}

#[test]
fn durations_outside_their_ranges_are_reported_one_line_each() {
    let config = EndpointConfig {
        min_speech_ms: 10,
        min_silence_ms: 20,
        soft_min_silence_ms: 20,
        speech_pad_ms: 2_500,
        max_utterance_ms: 40_000,
        ..EndpointConfig::default()
    };
    let err = config.validate().unwrap_err();
    assert_eq!(
        err.problems,
        vec![
            "min_speech_ms: must be ≥ 32 (one VAD chunk), got 10".to_string(),
            "min_silence_ms: must be ≥ 32 (one VAD chunk), got 20".to_string(),
            "speech_pad_ms: must be ≤ 2000, got 2500".to_string(),
            "max_utterance_ms: must be within 2000..=30000 (one Whisper window), got 40000"
                .to_string(),
        ]
    );
    let short = EndpointConfig {
        max_utterance_ms: 1_990,
        speech_pad_ms: 0,
        min_speech_ms: 32,
        min_silence_ms: 32,
        soft_min_silence_ms: 32,
        soft_max_utterance_ms: 0,
        ..EndpointConfig::default()
    };
    let err = short.validate().unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert!(err.problems[0].contains("within 2000..=30000"), "{err}");
}

#[test]
fn the_config_reads_from_json_with_defaults_and_rejects_unknown_fields() {
    let config: EndpointConfig = serde_json::from_str(r#"{"threshold": 0.6}"#).unwrap();
    assert_eq!(config.threshold, 0.6);
    assert_eq!(config.min_silence_ms, 500);
    assert!(serde_json::from_str::<EndpointConfig>(r#"{"treshold": 0.6}"#).is_err());
}
