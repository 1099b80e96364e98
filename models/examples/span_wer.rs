//! Throwaway: WER of tiny.en with full vs span windows.
use percept_models::eval::{EnglishNormalizer, wer_for_texts};
use percept_models::whisper::*;
use std::time::Instant;
fn main() {
    let models = std::path::PathBuf::from("/var/tmp/perceptd-models");
    let model = WhisperModel::load(&models.join("whisper-tiny.en")).unwrap();
    percept_compute::CpuBackend::new(2).unwrap();
    let t = Transcriber::new(model);
    let refs: Vec<String> = std::fs::read_to_string("/work/main/tests/speech/sentences.txt").unwrap().lines().filter(|l| !l.trim().is_empty()).map(String::from).collect();
    let norm = EnglishNormalizer::from_json_file(models.join("whisper-tiny.en/english.json")).unwrap();
    let pad_silence = std::env::args().nth(1).map(|s| s.parse::<usize>().unwrap()).unwrap_or(0);
    for window in [EncodeWindow::Full, EncodeWindow::Span { pad_ms: 0 }, EncodeWindow::Span { pad_ms: 500 }, EncodeWindow::Span { pad_ms: 1000 }, EncodeWindow::Span { pad_ms: 2000 }] {
        let opts = TranscribeOptions { window, condition_on_previous_text: false, ..Default::default() };
        let mut hyps = vec![];
        let start = Instant::now();
        for i in 1..=refs.len() {
            let bytes = std::fs::read(format!("/tmp/speech/s{i:02}.wav")).unwrap();
            let audio = percept_dsp::decode_wav(&bytes).unwrap();
            let mut s = vec![0.0f32; pad_silence * 16];
            s.extend(percept_dsp::to_mono_16k(&audio).unwrap());
            s.extend(vec![0.0f32; pad_silence * 16]);
            hyps.push(t.transcribe(&s, &opts).unwrap().text());
        }
        let stats = wer_for_texts(&norm, &refs, &hyps).unwrap();
        println!("{window:?}: WER {:.2}% time {:?}", stats.wer() * 100.0, start.elapsed());
    }
}
