//! alsa-lib prints its diagnostics straight to stderr ("ALSA lib confmisc.c:855:(parse_card)
//! cannot find card '0'" …), which would break perceptd's one-error-line rule. While opening a
//! device they are collected instead (alsa-lib's thread-local error handler) and added to the
//! error message.

/// Runs `open`, returning its result and what alsa-lib reported on this thread meanwhile.
#[cfg(target_os = "linux")]
pub(super) fn collect<T>(open: impl FnOnce() -> T) -> (T, Vec<String>) {
    let buffer = alsa::Output::local_error_handler().ok();
    let result = open();
    let lines = buffer
        .map(|buffer| {
            buffer
                .borrow()
                .to_string()
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    (result, lines)
}

/// Other platforms' audio hosts do not print on their own.
#[cfg(not(target_os = "linux"))]
pub(super) fn collect<T>(open: impl FnOnce() -> T) -> (T, Vec<String>) {
    (open(), Vec::new())
}

/// `reason` with the first and last alsa-lib message appended, when there were any.
pub(super) fn with_messages(reason: String, messages: &[String]) -> String {
    match messages {
        [] => reason,
        [only] => format!("{reason} (ALSA: {only})"),
        [first, .., last] => format!("{reason} (ALSA: {first} … {last})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_and_last_messages_explain_the_failure() {
        let messages = vec![
            "parse_card: cannot find card '0'".to_owned(),
            "snd_func_concat: error evaluating strings".to_owned(),
            "snd_pcm_open_noupdate: Unknown PCM default".to_owned(),
        ];
        assert_eq!(
            with_messages("not available".into(), &messages),
            "not available (ALSA: parse_card: cannot find card '0' … snd_pcm_open_noupdate: Unknown PCM default)"
        );
        assert_eq!(with_messages("x".into(), &[]), "x");
    }
}
