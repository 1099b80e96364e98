//! One decoding pass over one 30 s window: greedy (temperature 0) or sampled, with timestamp
//! tokens, the reference's logit filters, `no_speech_prob`, average log-probability and the
//! compression ratio used for temperature fallback.

use std::io::Write;
use std::sync::Arc;

use super::error::WhisperError;
use super::filters::{LogitFilters, log_softmax};
use super::model::{CrossKv, WhisperModel};

/// What the decoder is asked to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Task {
    /// Speech to text in the spoken language.
    #[default]
    Transcribe,
    /// Speech to English text (multilingual models only).
    Translate,
}

/// Options of one decoding pass.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Transcribe or translate.
    pub task: Task,
    /// Language token to use (multilingual models); `None` for English-only models.
    pub language: Option<String>,
    /// 0 for greedy decoding; above 0 samples from the softened distribution.
    pub temperature: f32,
    /// Predict timestamp tokens (needed for segments).
    pub with_timestamps: bool,
    /// Previous text tokens to condition on (`<|startofprev|>` prompt).
    pub prompt: Vec<u32>,
    /// Tokens forced at the start of the transcript (the text of audio at the start of the
    /// window that is already transcribed): the pass continues after them and returns only
    /// what it sampled. Timestamp rules see them as sampled tokens.
    pub prefix: Vec<u32>,
    /// Maximum tokens to sample; `None` is half the text context (224), as the reference.
    pub sample_len: Option<usize>,
    /// Seed for sampling at temperature > 0.
    pub seed: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            task: Task::Transcribe,
            language: None,
            temperature: 0.0,
            with_timestamps: true,
            prompt: Vec::new(),
            prefix: Vec::new(),
            sample_len: None,
            seed: 0x5eed_1e55,
        }
    }
}

/// The result of one decoding pass.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodingResult {
    /// Sampled tokens, timestamps included, end of text excluded.
    pub tokens: Vec<u32>,
    /// The text of the sampled tokens.
    pub text: String,
    /// Sum of the sampled tokens' log-probabilities (end of text included) over their count + 1.
    pub avg_logprob: f32,
    /// Probability of `<|nospeech|>` at the start-of-transcript position.
    pub no_speech_prob: f32,
    /// Temperature used.
    pub temperature: f32,
    /// Text bytes over zlib-compressed bytes; high values mean repetition loops.
    pub compression_ratio: f32,
    /// The language token's code, for multilingual models.
    pub language: Option<String>,
}

/// The reference's "max initial timestamp" of 1.0 s, in timestamp steps.
const MAX_INITIAL_TIMESTAMP_INDEX: u32 = 50;

/// The tokens that start a pass: an optional previous-text prompt, start of transcript, then
/// language and task for multilingual models, then `<|notimestamps|>` if timestamps are off.
/// Returns the tokens and the index of `<|startoftranscript|>` in them.
pub fn initial_tokens(
    model: &WhisperModel,
    options: &DecodeOptions,
) -> Result<(Vec<u32>, usize), WhisperError> {
    let s = model.tokenizer().specials();
    let mut tokens = Vec::new();
    if !options.prompt.is_empty() {
        let keep = model.config().n_text_ctx / 2 - 1;
        let start = options.prompt.len().saturating_sub(keep);
        tokens.push(s.sot_prev);
        tokens.extend_from_slice(&options.prompt[start..]);
    }
    let sot_index = tokens.len();
    tokens.push(s.sot);
    if model.config().multilingual {
        let code = options.language.as_deref().unwrap_or("en");
        let lang = s
            .language_token(code)
            .ok_or_else(|| WhisperError::BadModel {
                path: model.dir().to_path_buf(),
                reason: format!("the model does not know language {code:?}"),
            })?;
        tokens.push(lang);
        tokens.push(match options.task {
            Task::Transcribe => s.transcribe,
            Task::Translate => s.translate,
        });
    }
    if !options.with_timestamps {
        tokens.push(s.no_timestamps);
    }
    Ok((tokens, sot_index))
}

/// Runs one decoding pass over a prepared window.
pub fn decode(
    model: &Arc<WhisperModel>,
    cross: &CrossKv,
    options: &DecodeOptions,
) -> Result<DecodingResult, WhisperError> {
    decode_until(model, cross, options, &|| false)
}

/// [`decode`], asking `stop` before every decoder step: when it says true the pass ends with
/// [`WhisperError::Stopped`] (a partial giving way to a final costs at most one step).
pub fn decode_until(
    model: &Arc<WhisperModel>,
    cross: &CrossKv,
    options: &DecodeOptions,
    stop: &dyn Fn() -> bool,
) -> Result<DecodingResult, WhisperError> {
    let tokenizer = model.tokenizer();
    let eot = tokenizer.specials().eot;
    let n_vocab = model.config().n_vocab;
    let (initial, sot_index) = initial_tokens(model, options)?;
    let sample_len = options.sample_len.unwrap_or(model.config().n_text_ctx / 2);
    let filters = LogitFilters::new(
        tokenizer,
        options.with_timestamps,
        Some(MAX_INITIAL_TIMESTAMP_INDEX),
    );
    let mut rng = XorShift(options.seed | 1);

    let mut session = model.session(cross)?;
    let first: Vec<u32> = initial.iter().chain(&options.prefix).copied().collect();
    let all = session.step(&first)?;
    let at_sot = &all[sot_index * n_vocab..(sot_index + 1) * n_vocab];
    let no_speech_prob = log_softmax(at_sot)[tokenizer.specials().no_speech as usize].exp();
    let mut logits = all[(first.len() - 1) * n_vocab..].to_vec();

    let forced = options.prefix.len();
    let mut sampled = options.prefix.clone();
    let mut sum_logprob = 0.0f64;
    for _ in 0..sample_len {
        if stop() {
            return Err(WhisperError::Stopped);
        }
        filters.apply(&mut logits, &sampled);
        let logprobs = log_softmax(&logits);
        let next = if options.temperature > 0.0 {
            sample(&logprobs, options.temperature, &mut rng)
        } else {
            argmax(&logits)
        };
        sum_logprob += logprobs[next as usize] as f64;
        if next == eot || session.len() + 1 > model.config().n_text_ctx {
            break;
        }
        sampled.push(next);
        logits = session.step(&[next])?;
    }
    let sampled = sampled.split_off(forced);
    let text_tokens: Vec<u32> = sampled.iter().copied().filter(|&t| t < eot).collect();
    let text = tokenizer.decode(&text_tokens);
    Ok(DecodingResult {
        avg_logprob: (sum_logprob / (sampled.len() + 1) as f64) as f32,
        compression_ratio: compression_ratio(&text),
        tokens: sampled,
        text,
        no_speech_prob,
        temperature: options.temperature,
        language: options
            .language
            .clone()
            .filter(|_| model.config().multilingual),
    })
}

/// Detects the spoken language of a window from the logits after `<|startoftranscript|>`.
/// Returns the language code and its probability among language tokens.
pub fn detect_language(
    model: &Arc<WhisperModel>,
    cross: &CrossKv,
) -> Result<(String, f32), WhisperError> {
    let s = *model.tokenizer().specials();
    let mut session = model.session(cross)?;
    let logits = session.step(&[s.sot])?;
    let range = s.first_language as usize..(s.first_language + s.n_languages) as usize;
    let lang_logprobs = log_softmax(&logits[range.clone()]);
    let best = argmax(&lang_logprobs);
    let code = s.language_code(range.start as u32 + best).unwrap_or("en");
    Ok((code.to_string(), lang_logprobs[best as usize].exp()))
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> u32 {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as u32
}

/// Draws a token from `softmax(logprobs / temperature)`.
fn sample(logprobs: &[f32], temperature: f32, rng: &mut XorShift) -> u32 {
    let scaled: Vec<f32> = logprobs.iter().map(|l| l / temperature).collect();
    let probs = log_softmax(&scaled);
    let mut target = rng.next_f64();
    for (i, lp) in probs.iter().enumerate() {
        target -= (*lp as f64).exp();
        if target <= 0.0 {
            return i as u32;
        }
    }
    argmax(logprobs)
}

/// Text bytes over zlib-compressed bytes, as the reference computes it for fallback decisions.
pub fn compression_ratio(text: &str) -> f32 {
    if text.is_empty() {
        return 0.0;
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let compressed = encoder
        .write_all(text.as_bytes())
        .and_then(|_| encoder.finish())
        .unwrap_or_default();
    text.len() as f32 / compressed.len().max(1) as f32
}

/// A small deterministic generator for sampling (xorshift64*).
struct XorShift(u64);

impl XorShift {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_text_compresses_far_better_than_varied_text() {
        let looped = "thank you. ".repeat(30);
        assert!(compression_ratio(&looped) > 2.4);
        assert!(compression_ratio("The quick brown fox jumps over the lazy dog.") < 2.4);
    }

    #[test]
    fn sampling_at_low_temperature_picks_the_mode() {
        let mut rng = XorShift(7);
        let lp = log_softmax(&[0.0, 5.0, 1.0]);
        assert!((0..20).all(|_| sample(&lp, 0.01, &mut rng) == 1));
    }
}
