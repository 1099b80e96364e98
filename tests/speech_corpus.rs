//! The daemon on the real-speech corpus (scripts/make_corpus.py: flite and Festival voices,
//! Debian's recorded samples, phrase pauses, fast turn-taking, telephone band, noise at
//! 20/10/5 dB SNR, reverberation, an old-radio chain), against `perceptd transcribe` on the
//! same audio, condition by condition and piece by piece; and ten minutes of noise.
//!
//! The finals of a file streamed as fast as the pipeline takes it (`realtime = false`: the
//! endpointer waits for inference instead of shedding) are the same utterances as in real
//! time, so the WER checks run fast; one condition runs in real time for the structure and the
//! latency print (latency is measured by `scripts/bench_corpus.sh`, never asserted).
//!
//! Asserted: the floor of `corpus::check_floor` (streamed WER ≤ batch + 10 points, ≥ 95 % of
//! the well-recognised pieces covered by a final) on four conditions (`CORPUS_ALL=1`: all
//! eight), finals ≤ 10 s in the conversation, zero finals on noise. The stricter acceptance (+2 points, per piece +10) is printed per
//! condition; it does not hold on every condition yet (BENCHMARKS.md says where).

mod common;
mod corpus;

use common::stream::one_at_a_time;
use corpus::{
    Condition, SPEECH_CONDITIONS, batch_text, check_condition, check_floor, generate, latencies,
    normalizer, quantile, score, stream,
};

/// Longest audio one final may cover in the conversation condition (its turns have 160–240 ms
/// pauses between them, so the soft limit finds one).
const CONVERSATION_MAX_FINAL_S: f64 = 10.0;

fn finals_text(finals: &[corpus::Final]) -> Vec<&str> {
    finals.iter().map(|f| f.text.as_str()).collect()
}

/// Runs one condition, prints its line, returns its problems.
fn run_condition(c: &Condition, realtime: bool) -> Vec<String> {
    let norm = normalizer();
    let pieces = &c.manifest.pieces;
    let name = &c.manifest.condition;
    let batch = score(&norm, pieces, &[batch_text(&c.wav).as_str()]);
    let (finals, log) = stream(&c.wav, realtime, "", "");
    let streamed = score(&norm, pieces, &finals_text(&finals));
    let strict = check_condition(name, pieces, &batch, &streamed, &finals);
    let mut problems = check_floor(name, pieces, &batch, &streamed, &finals);
    let longest = finals
        .iter()
        .map(|f| f.end_s - f.start_s)
        .fold(0.0, f64::max);
    if name == "conversation" && longest > CONVERSATION_MAX_FINAL_S {
        problems.push(format!(
            "conversation: a final covers {longest:.1} s > {CONVERSATION_MAX_FINAL_S} s"
        ));
    }
    let low = finals
        .iter()
        .filter(|f| f.payload["confidence"] == "low")
        .count();
    let withheld = log
        .iter()
        .filter(|l| l.contains("no speech: final withheld"))
        .count();
    let lat = latencies(pieces, &finals);
    eprintln!(
        "[corpus] {name:<12} strict acceptance: {} problem(s){}",
        strict.len(),
        strict
            .first()
            .map_or(String::new(), |p| format!(", first: {p}"))
    );
    eprintln!(
        "[corpus] {name:<12} batch WER {:5.1} %  streamed {:5.1} %  finals {:3} (low {low}, withheld {withheld}), longest {longest:4.1} s{}",
        100.0 * batch.total.wer(),
        100.0 * streamed.total.wer(),
        finals.len(),
        if realtime {
            format!(
                ", latency p50 {:.0} ms p95 {:.0} ms",
                1000.0 * quantile(&lat, 0.5),
                1000.0 * quantile(&lat, 0.95)
            )
        } else {
            String::new()
        }
    );
    for l in log
        .iter()
        .filter(|l| l.contains("no speech: final withheld"))
    {
        eprintln!("[corpus]   {l}");
    }
    if !problems.is_empty() {
        for f in &finals {
            eprintln!(
                "[corpus]   final {:7.2}-{:7.2} {} {:?}",
                f.start_s, f.end_s, f.payload["confidence"], f.text
            );
        }
    }
    problems
}

/// The conditions CI streams as fast as it goes: pauses inside sentences, telephone band,
/// 10 dB noise and reverberation (the conversation runs in real time below). Every condition
/// runs with `CORPUS_ALL=1` and in `scripts/bench_corpus.sh`.
const CI_CONDITIONS: [&str; 4] = ["oratory", "telephone", "noise10", "reverb"];

#[test]
fn streamed_finals_match_the_batch_transcript_on_every_condition() {
    let _one = one_at_a_time();
    let all = std::env::var("CORPUS_ALL").is_ok_and(|v| v == "1");
    let conditions = generate(if all {
        &SPEECH_CONDITIONS[..]
    } else {
        &CI_CONDITIONS[..]
    });
    let problems: Vec<String> = conditions
        .iter()
        .flat_map(|c| run_condition(c, false))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn conversation_in_real_time_gets_bounded_finals_and_every_turn() {
    let _one = one_at_a_time();
    let conditions = generate(&["conversation"]);
    let problems = run_condition(&conditions[0], true);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn ten_minutes_of_mixed_noise_give_no_finals_and_no_partials() {
    let _one = one_at_a_time();
    let noise = &generate(&["noise_only"])[0];
    assert!(noise.manifest.pieces.is_empty());
    assert!(noise.manifest.duration_s >= 600.0);
    let (finals, log) = stream(&noise.wav, false, "partial_interval_ms = 1000", "");
    assert!(
        finals.is_empty(),
        "finals on noise: {:?}",
        finals
            .iter()
            .map(|f| (&f.text, f.start_s))
            .collect::<Vec<_>>()
    );
    assert!(
        !log.iter().any(|l| l.contains("partial transcript")),
        "no partial on noise either"
    );
}

/// `$CORPUS_CONDITIONS` (comma-separated), else every speech condition.
fn wanted_conditions() -> Vec<String> {
    std::env::var("CORPUS_CONDITIONS")
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_else(|_| SPEECH_CONDITIONS.iter().map(|s| s.to_string()).collect())
}

/// The whole corpus in real time, before/after numbers for BENCHMARKS.md: run by
/// `scripts/bench_corpus.sh` (about 25 minutes). Writes `$CORPUS_REPORT` (JSON) when set.
#[test]
#[ignore = "benchmark: the whole corpus in real time (~25 min); scripts/bench_corpus.sh"]
fn corpus_benchmark_in_real_time() {
    let _one = one_at_a_time();
    let norm = normalizer();
    let wanted = wanted_conditions();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let speech_extra = std::env::var("CORPUS_SPEECH_EXTRA").unwrap_or_default();
    let vad_extra = std::env::var("CORPUS_VAD_EXTRA").unwrap_or_default();
    // CORPUS_REALTIME=0: as fast as it goes (the same finals; latency is then meaningless).
    let realtime = std::env::var("CORPUS_REALTIME").map_or(true, |v| v != "0");
    let mut rows = Vec::new();
    let mut all_latencies = Vec::new();
    for c in generate(&wanted) {
        let pieces = &c.manifest.pieces;
        let batch = score(&norm, pieces, &[batch_text(&c.wav).as_str()]);
        let (finals, _) = stream(&c.wav, realtime, &speech_extra, &vad_extra);
        let streamed = score(&norm, pieces, &finals_text(&finals));
        let lat = latencies(pieces, &finals);
        all_latencies.extend(&lat);
        if std::env::var("CORPUS_VERBOSE").is_ok_and(|v| v == "1") {
            print_finals(&finals, pieces);
        }
        let problems = check_condition(&c.manifest.condition, pieces, &batch, &streamed, &finals);
        let longest = finals
            .iter()
            .map(|f| f.end_s - f.start_s)
            .fold(0.0, f64::max);
        let row = serde_json::json!({
            "condition": c.manifest.condition,
            "audio_s": c.manifest.duration_s,
            "pieces": pieces.len(),
            "batch_wer": batch.total.wer(),
            "streamed_wer": streamed.total.wer(),
            "finals": finals.len(),
            "low_confidence": finals.iter().filter(|f| f.payload["confidence"] == "low").count(),
            "longest_final_s": longest,
            "latency_p50_s": quantile(&lat, 0.5),
            "latency_p95_s": quantile(&lat, 0.95),
            "problems": problems,
        });
        eprintln!("[corpus] {row}");
        rows.push(row);
    }
    let report = serde_json::json!({
        "conditions": rows,
        "latency_p50_s": quantile(&all_latencies, 0.5),
        "latency_p95_s": quantile(&all_latencies, 0.95),
    });
    eprintln!(
        "[corpus] overall latency p50 {:.3} s p95 {:.3} s",
        report["latency_p50_s"], report["latency_p95_s"]
    );
    if let Ok(path) = std::env::var("CORPUS_REPORT") {
        std::fs::write(path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    }
}

/// One line per final: the audio it covers, the end of the last piece it covers, the latency
/// seen by the subscriber and the daemon's own `latency_ms` (from its end of speech), so the
/// endpointing delay and the inference time can be told apart.
fn print_finals(finals: &[corpus::Final], pieces: &[corpus::Piece]) {
    for f in finals {
        let external = latencies(pieces, std::slice::from_ref(f));
        eprintln!(
            "[corpus]   final {:7.2}-{:7.2} ({:4.1} s) latency {} daemon {} ms {:?}",
            f.start_s,
            f.end_s,
            f.end_s - f.start_s,
            external
                .first()
                .map_or("-".to_string(), |l| format!("{:5.0} ms", 1000.0 * l)),
            f.payload["latency_ms"],
            f.text
        );
    }
}

/// How much of the per-piece rule is tiny.en's own sensitivity to context: `perceptd
/// transcribe` twice on the same file, once in plain 30 s windows (`--vad off`, the batch the
/// rule is measured against) and once cut at speech (`--vad on`: the same audio in other
/// windows, with other text before each piece), scored piece by piece with the rule
/// as if the second were the streamed transcript. Prints one line per condition and the
/// pieces that fail; for BENCHMARKS.md (`cargo test … -- --ignored batch_against_batch`).
#[test]
#[ignore = "measurement: two batch transcripts of every condition (~5 min)"]
fn batch_against_batch_per_piece() {
    let _one = one_at_a_time();
    let norm = normalizer();
    let wanted = wanted_conditions();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let (mut eligible_all, mut failing_all) = (0, 0);
    for c in generate(&wanted) {
        let pieces = &c.manifest.pieces;
        let plain = score(&norm, pieces, &[batch_text(&c.wav).as_str()]);
        let cut = common::transcribe_ok(&["--vad", "on", "--keep-repeats"], &c.wav);
        let cut = score(&norm, pieces, &[cut.as_str()]);
        let mut eligible = 0;
        let mut failing = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let pb = plain.per_piece[i].wer();
            if pb > 0.10 {
                continue;
            }
            eligible += 1;
            let pc = cut.per_piece[i].wer();
            if pc > pb + 0.10 {
                failing.push(format!(
                    "{:?}: {:.0} % vs {:.0} %",
                    piece.text,
                    100.0 * pc,
                    100.0 * pb
                ));
            }
        }
        eprintln!(
            "[corpus] {:<12} batch --vad off {:5.1} %, --vad on {:5.1} %: {} of {eligible} well-recognised pieces fail the per-piece rule",
            c.manifest.condition,
            100.0 * plain.total.wer(),
            100.0 * cut.total.wer(),
            failing.len()
        );
        for f in &failing {
            eprintln!("[corpus]   {f}");
        }
        eligible_all += eligible;
        failing_all += failing.len();
    }
    eprintln!(
        "[corpus] all: {failing_all} of {eligible_all} well-recognised pieces fail between two batch transcripts"
    );
}
