//! Logit filters applied before each sampling step, following the reference decoder:
//! suppress blanks at the start, suppress non-speech and task tokens, and the timestamp rules.

use super::tokenizer::Tokenizer;

/// Sets `logits[i]` to −∞ for every listed token.
fn suppress(logits: &mut [f32], tokens: impl IntoIterator<Item = u32>) {
    for t in tokens {
        if let Some(l) = logits.get_mut(t as usize) {
            *l = f32::NEG_INFINITY;
        }
    }
}

/// The filters of one decoding pass, built once from the tokenizer and options.
#[derive(Debug, Clone)]
pub struct LogitFilters {
    /// Tokens never sampled: non-speech symbols and the task/control tokens.
    suppressed: Vec<u32>,
    /// Tokens suppressed on the first sampled position: a blank and end of text.
    blank: Vec<u32>,
    eot: u32,
    no_timestamps: u32,
    timestamp_begin: u32,
    /// The latest timestamp allowed as the first token, as an index past `<|0.00|>`.
    max_initial_timestamp_index: Option<u32>,
    with_timestamps: bool,
}

impl LogitFilters {
    /// Filters for a pass with or without timestamps.
    pub fn new(
        tokenizer: &Tokenizer,
        with_timestamps: bool,
        max_initial_timestamp_index: Option<u32>,
    ) -> Self {
        let s = tokenizer.specials();
        let mut suppressed = tokenizer.non_speech_tokens();
        suppressed.extend([
            s.transcribe,
            s.translate,
            s.sot,
            s.sot_prev,
            s.sot_lm,
            s.no_speech,
        ]);
        let mut blank = tokenizer.encode(" ");
        blank.push(s.eot);
        Self {
            suppressed,
            blank,
            eot: s.eot,
            no_timestamps: s.no_timestamps,
            timestamp_begin: s.timestamp_begin,
            max_initial_timestamp_index,
            with_timestamps,
        }
    }

    /// Applies every filter to `logits` given the tokens sampled so far in this pass.
    pub fn apply(&self, logits: &mut [f32], sampled: &[u32]) {
        if sampled.is_empty() {
            suppress(logits, self.blank.iter().copied());
        }
        suppress(logits, self.suppressed.iter().copied());
        if self.with_timestamps {
            self.apply_timestamp_rules(logits, sampled);
        }
    }

    /// Timestamps come in pairs (except right before end of text), never decrease, and a segment
    /// has non-zero length; the first token is a timestamp no later than the initial limit; and
    /// when timestamps together are likelier than any text token, a timestamp is forced.
    fn apply_timestamp_rules(&self, logits: &mut [f32], sampled: &[u32]) {
        let ts = self.timestamp_begin as usize;
        logits[self.no_timestamps as usize] = f32::NEG_INFINITY;
        let is_ts = |t: &u32| *t >= self.timestamp_begin;
        let last_was_ts = sampled.last().is_some_and(is_ts);
        let penultimate_was_ts = sampled.len() < 2 || is_ts(&sampled[sampled.len() - 2]);
        if last_was_ts {
            if penultimate_was_ts {
                logits[ts..].fill(f32::NEG_INFINITY);
            } else {
                logits[..self.eot as usize].fill(f32::NEG_INFINITY);
            }
        }
        if let Some(&last_ts) = sampled.iter().rev().find(|t| is_ts(t)) {
            let end = if last_was_ts && !penultimate_was_ts {
                last_ts
            } else {
                last_ts + 1
            };
            let end = (end as usize).min(logits.len());
            logits[ts..end].fill(f32::NEG_INFINITY);
        }
        if sampled.is_empty() {
            logits[..ts].fill(f32::NEG_INFINITY);
            if let Some(max_index) = self.max_initial_timestamp_index {
                let last_allowed = ts + max_index as usize;
                if last_allowed + 1 < logits.len() {
                    logits[last_allowed + 1..].fill(f32::NEG_INFINITY);
                }
            }
        }
        let logprobs = log_softmax(logits);
        let timestamp_logprob = log_sum_exp(&logprobs[ts..]);
        let max_text = logprobs[..ts]
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        if timestamp_logprob > max_text {
            logits[..ts].fill(f32::NEG_INFINITY);
        }
    }
}

/// `log(sum(exp(x)))`, stable; −∞ for an empty or all −∞ slice.
pub fn log_sum_exp(x: &[f32]) -> f32 {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    let sum: f64 = x.iter().map(|v| ((v - max) as f64).exp()).sum();
    max + sum.ln() as f32
}

/// Log-softmax of `x`.
pub fn log_softmax(x: &[f32]) -> Vec<f32> {
    let lse = log_sum_exp(x);
    x.iter().map(|v| v - lse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_sums_to_one_in_probability() {
        let lp = log_softmax(&[1.0, 2.0, 3.0, f32::NEG_INFINITY]);
        let total: f32 = lp.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert_eq!(lp[3], f32::NEG_INFINITY);
    }
}
