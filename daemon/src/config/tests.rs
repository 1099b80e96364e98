//! The typed config: what each string compiles into, and every kind of error.

use std::path::{Path, PathBuf};

use percept_dsp::PcmFormat;
use percept_models::clip::ClipFiles;
use percept_models::whisper::{EncodeWindow, EngineOptions, Precision};

use super::{Config, ConfigError};
use crate::frames::{CameraFormat, FramePolicy, FrameSourceConfig};
use crate::sources::file::FilePlan;
use crate::sources::mic::config::MicPlan;
use crate::sources::stdin::StdinPlan;
use crate::sources::{OpenSource, Pacing};
use crate::vision::VisionModel;
use crate::vision::embedding::EmbeddingDtype;

fn problems_of(text: &str) -> Vec<String> {
    match Config::from_toml(text, "test.toml") {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        other => panic!("expected validation problems, got {other:?}"),
    }
}

#[test]
fn an_empty_file_is_a_valid_config_with_defaults() {
    let config = Config::from_toml("", "empty").unwrap();
    assert_eq!(config.speech.model, "tiny.en");
    assert_eq!(config.tracker.endpoint.min_silence_ms, 500);
    assert_eq!(config.log.stats_interval_secs, 60);
    assert!(config.sources.is_empty());
    assert_eq!(config.speech.final_options.window, EncodeWindow::Full);
}

#[test]
fn the_engine_defaults_to_native_int8_and_bad_choices_are_named() {
    let config = Config::from_toml("", "t").unwrap();
    assert_eq!(config.speech.engine, EngineOptions::native(Precision::Int8));
    let tract = Config::from_toml("[speech]\nengine = \"tract\"\n", "t").unwrap();
    assert_eq!(tract.speech.engine, EngineOptions::tract());
    let err = Config::from_toml("[speech]\nengine = \"onnx\"\nprecision = \"fp16\"\n", "t")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("speech.engine: unknown engine \"onnx\""),
        "{err}"
    );
    assert!(
        err.contains("speech.precision: unknown precision \"fp16\""),
        "{err}"
    );
    let err = Config::from_toml("[speech]\nengine = \"tract\"\nprecision = \"int8\"\n", "t")
        .unwrap_err()
        .to_string();
    assert!(err.contains("tract engine runs f32 only"), "{err}");
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let err = Config::from_toml("[speech]\nmodle = \"base\"\n", "t.toml").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("modle"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
}

#[test]
fn log_format_is_text_unless_json_is_asked_for_and_another_is_named() {
    use crate::logging::LogFormat;
    let config = Config::from_toml("", "t").unwrap();
    assert_eq!(config.log.format, LogFormat::Text);
    let json = Config::from_toml("[log]\nformat = \"json\"\n", "t").unwrap();
    assert_eq!(json.log.format, LogFormat::Json);
    let err = Config::from_toml("[log]\nformat = \"xml\"\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("xml") && err.contains("json"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn unknown_source_kinds_and_fields_are_rejected() {
    let err = Config::from_toml("[[source]]\nkind = \"camera\"\n", "t").unwrap_err();
    assert!(err.to_string().contains("camera"), "{err}");
    let err = Config::from_toml("[[source]]\nkind = \"mic\"\nrate = 48000\n", "t").unwrap_err();
    assert!(err.to_string().contains("rate"), "{err}");
}

#[test]
fn every_problem_is_reported_with_its_key_path() {
    let problems = problems_of(
        r#"
device = "my box"
[speech]
model = "huge"
partial_interval_ms = 50
[vad]
threshold = 1.5
max_utterance_ms = 60000
[[source]]
kind = "stdin"
format = "u8"
sample_rate = 0
[[source]]
kind = "file"
name = "stdin"
path = "/no/such/file.wav"
"#,
    );
    let joined = problems.join("\n");
    for key in [
        "device:",
        "speech.model:",
        "speech.partial_interval_ms:",
        "vad.threshold:",
        "vad.max_utterance_ms:",
        "source[0].format:",
        "source[0].sample_rate:",
        "source[1].name:",
        "source[1].path:",
    ] {
        assert!(joined.contains(key), "missing {key} in:\n{joined}");
    }
}

#[test]
fn metrics_listen_is_off_by_default_and_parsed_once_into_an_address() {
    assert_eq!(Config::from_toml("", "t").unwrap().metrics_listen, None);
    let config = Config::from_toml("[metrics]\nlisten = \"127.0.0.1:9464\"", "t").unwrap();
    assert_eq!(
        config.metrics_listen,
        Some("127.0.0.1:9464".parse().unwrap())
    );
    let v6 = Config::from_toml("[metrics]\nlisten = \"[::]:9464\"", "t").unwrap();
    assert_eq!(v6.metrics_listen.unwrap().port(), 9464);
    let problem = only_problem("[metrics]\nlisten = \"localhost:9464\"");
    assert!(
        problem.starts_with("metrics.listen: must be an IP address and port"),
        "{problem}"
    );
    let problem = only_problem("[metrics]\nlisten = \"127.0.0.1:0\"");
    assert!(
        problem.starts_with("metrics.listen: the port must not be 0"),
        "{problem}"
    );
    let error = Config::from_toml("[metrics]\nport = 9464", "t").unwrap_err();
    assert!(
        error.to_string().contains("unknown field `port`"),
        "{error}"
    );
}

/// The one problem `text` has.
fn only_problem(text: &str) -> String {
    let problems = problems_of(text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    problems.into_iter().next().unwrap()
}

/// A scratch file holding `text`.
fn scratch_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perceptd-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn encode_window_span_compiles_into_the_final_window_and_partials_always_use_span() {
    let config = Config::from_toml(
        "[speech]\nencode_window = \"span\"\nspan_pad_ms = 700\nspan_min_ms = 3000\n",
        "t",
    )
    .unwrap();
    let span = EncodeWindow::Span {
        pad_ms: 700,
        min_ms: 3000,
    };
    assert_eq!(config.speech.final_options.window, span);
    assert_eq!(config.speech.partial_options.window, span);
    assert_eq!(config.speech.partial_options.temperatures, vec![0.0]);
    let full = Config::from_toml("", "t").unwrap();
    assert_eq!(
        full.speech.partial_options.window,
        EncodeWindow::Span {
            pad_ms: 1000,
            min_ms: 0
        }
    );
    let problem = only_problem("[speech]\nencode_window = \"half\"\n");
    assert_eq!(
        problem,
        "speech.encode_window: must be \"span\" or \"full\", got \"half\""
    );
}

#[test]
fn speech_thresholds_compile_into_the_guards_and_the_context_limits_into_samples() {
    let config = Config::from_toml(
        "[speech]\nlanguage = \"de\"\nno_speech_threshold = 0.7\ncontext_gap_ms = 500\n",
        "t",
    )
    .unwrap();
    let s = &config.speech;
    assert_eq!(s.final_options.language.as_deref(), Some("de"));
    assert_eq!(s.final_options.no_speech_threshold, Some(0.7));
    assert_eq!(s.guards.no_speech, 0.7);
    assert_eq!(s.guards.logprob, -1.0);
    assert_eq!(s.context.context_gap_samples, 500 * 16);
    assert_eq!(s.context.context_previous_samples, 10_000 * 16);
    assert!(!s.final_options.skip_silence);
    let t = &config.tracker;
    assert_eq!(t.partial_interval_samples, 1000 * 16);
    assert_eq!(t.max_backlog_samples, 30_000 * 16);
    assert_eq!(t.speech_pad_samples, 200 * 16);
    assert!(t.early_finals && !t.wait_for_backlog);
}

#[test]
fn the_stdin_format_is_parsed_once_into_the_plan() {
    let config = Config::from_toml(
        "[[source]]\nkind = \"stdin\"\nformat = \"f32le\"\nsample_rate = 44100\nchannels = 2\n",
        "t",
    )
    .unwrap();
    assert_eq!(config.sources.len(), 1);
    assert_eq!(config.sources[0].name, "stdin");
    assert_eq!(
        config.sources[0].open,
        OpenSource::Stdin(StdinPlan {
            format: PcmFormat::F32le,
            sample_rate: 44_100,
            channels: 2,
        })
    );
    assert!(!config.sources[0].open.reopens());
}

#[test]
fn mic_and_file_sources_compile_into_plans_that_say_how_they_run() {
    let wav = scratch_file("clip.wav", "not checked until opened");
    let text = format!(
        "[[source]]\nkind = \"mic\"\ndevice = \"hw:1\"\n\
         [[source]]\nkind = \"file\"\nname = \"door\"\npath = {:?}\nrealtime = false\nloop = true\n",
        wav.display().to_string()
    );
    let config = Config::from_toml(&text, "t").unwrap();
    let mic = &config.sources[0];
    assert_eq!(mic.name, "mic");
    assert_eq!(
        mic.open,
        OpenSource::Mic(MicPlan {
            device: Some("hw:1".into()),
            ring_ms: 2000,
        })
    );
    assert!(mic.open.reopens() && !mic.open.can_wait());
    let file = &config.sources[1];
    assert_eq!(file.name, "door");
    assert_eq!(
        file.open,
        OpenSource::File(FilePlan {
            path: wav,
            pacing: Pacing::Fast,
            looping: true,
        })
    );
    assert!(file.open.can_wait() && !file.open.reopens());
}

#[test]
fn the_embedding_dtype_is_parsed_once_and_a_bad_one_is_named() {
    let config = Config::from_toml("[vision]\nembedding_dtype = \"f32\"\n", "t").unwrap();
    assert_eq!(config.vision.stage.embedding_dtype, EmbeddingDtype::F32);
    let default = Config::from_toml("", "t").unwrap();
    assert_eq!(default.vision.stage.embedding_dtype, EmbeddingDtype::F16);
    assert_eq!(default.vision.stage.snapshot_max_side, None);
    assert_eq!(default.vision.decode_limits.max_pixels, 40_000_000);
    let problem = only_problem("[vision]\nembedding_dtype = \"f64\"\n");
    assert!(problem.starts_with("vision.embedding_dtype: "), "{problem}");
}

#[test]
fn the_vision_model_is_parsed_once_into_imagenet_or_clip_with_its_files() {
    let config = Config::from_toml("", "t").unwrap();
    assert_eq!(
        config.vision.model.model,
        VisionModel::ImageNet("efficientnet-lite0".into())
    );
    assert_eq!(config.vision.model.top_k, 5);
    let clip = Config::from_toml(
        "models_dir = \"/m\"\n[vision]\nmodel = \"clip\"\n[vision.clip]\n\
         vision_model = \"/c/v.onnx\"\ntext_model = \"/c/t.onnx\"\nlabels = [\"cat\"]\n",
        "t",
    )
    .unwrap();
    let VisionModel::Clip(settings) = &clip.vision.model.model else {
        panic!("expected CLIP: {:?}", clip.vision.model);
    };
    assert_eq!(
        settings.files,
        ClipFiles::Separate {
            vision: "/c/v.onnx".into(),
            text: "/c/t.onnx".into()
        }
    );
    assert_eq!(
        settings.vocab,
        Path::new("/m/clip-assets/bpe_simple_vocab_16e6.txt.gz")
    );
    assert_eq!(settings.labels, vec!["cat".to_string()]);
    assert!(!settings.templates.is_empty());
    let problem = only_problem("[vision]\nmodel = \"clip\"\n");
    assert!(problem.starts_with("vision.clip: required"), "{problem}");
}

#[test]
fn each_camera_kind_compiles_into_its_frame_source_with_the_kind_defaults() {
    let config = Config::from_toml(
        r#"
[[camera]]
kind = "camera"
format = "yuyv"
fps = 7.6
max_fps = 0
[[camera]]
kind = "images"
path = "/srv/in"
watch = true
[[camera]]
kind = "y4m"
name = "rec"
path = "/srv/a.y4m"
loop = true
[[camera]]
kind = "synthetic"
width = 64
height = 48
"#,
        "t",
    )
    .unwrap();
    let names: Vec<&str> = config.cameras.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["camera", "images", "rec", "synthetic"]);
    let FrameSourceConfig::Camera(camera) = &config.cameras[0].source else {
        panic!("{:?}", config.cameras[0]);
    };
    assert_eq!(camera.device, Path::new("/dev/video0"));
    assert_eq!(camera.format, CameraFormat::Yuyv);
    assert_eq!((camera.width, camera.height, camera.fps), (640, 480, 8));
    assert_eq!(
        config.cameras[0].policy,
        FramePolicy {
            max_fps: None,
            motion_threshold: 0.02
        }
    );
    let FrameSourceConfig::Images(images) = &config.cameras[1].source else {
        panic!("{:?}", config.cameras[1]);
    };
    assert_eq!(images.path, Path::new("/srv/in"));
    assert_eq!(images.fps, 1.0);
    assert!(images.watch && !images.looping);
    assert_eq!(images.limits.max_pixels, 40_000_000);
    assert_eq!(config.cameras[1].policy.max_fps, Some(2.0));
    let FrameSourceConfig::Y4m(y4m) = &config.cameras[2].source else {
        panic!("{:?}", config.cameras[2]);
    };
    assert!(y4m.looping);
    let FrameSourceConfig::Synthetic(synthetic) = &config.cameras[3].source else {
        panic!("{:?}", config.cameras[3]);
    };
    assert_eq!(
        (synthetic.width, synthetic.height, synthetic.fps),
        (64, 48, 5.0)
    );
}

#[test]
fn a_camera_field_of_another_kind_is_reported_with_its_key_path() {
    let problem = only_problem("[[camera]]\nkind = \"synthetic\"\nformat = \"h264\"\n");
    assert!(
        problem.starts_with("camera[0].format: not used by kind = \"synthetic\""),
        "{problem}"
    );
}

#[test]
fn an_unknown_camera_kind_is_reported_with_its_key_path() {
    assert_eq!(
        only_problem("[[camera]]\nkind = \"webcam\"\n"),
        "camera[0].kind: must be one of camera, images, y4m, synthetic, got \"webcam\""
    );
    assert_eq!(
        only_problem("[[camera]]\nname = \"x\"\n"),
        "camera[0].kind: must be one of camera, images, y4m, synthetic, got nothing"
    );
}

#[test]
fn a_camera_value_of_the_wrong_type_is_reported_under_its_camera() {
    let problem = only_problem("[[camera]]\nkind = \"synthetic\"\nwidth = \"wide\"\n");
    assert!(problem.starts_with("camera[0]: "), "{problem}");
    assert!(problem.contains("wide"), "{problem}");
}

#[test]
fn a_camera_that_needs_a_path_says_so() {
    assert_eq!(
        only_problem("[[camera]]\nkind = \"y4m\"\n"),
        "camera[0].path: required for kind = \"y4m\""
    );
}

#[test]
fn a_camera_named_like_an_audio_source_is_reported() {
    let problem = only_problem(
        "[[source]]\nkind = \"mic\"\nname = \"door\"\n[[camera]]\nkind = \"synthetic\"\nname = \"door\"\n",
    );
    assert_eq!(
        problem,
        "camera: name \"door\" is also an audio source's name"
    );
}

#[test]
fn vad_reads_straight_into_the_endpointer_config_with_its_rules() {
    let config = Config::from_toml("[vad]\nthreshold = 0.6\nneg_threshold = 0.4\n", "t").unwrap();
    assert_eq!(config.tracker.endpoint.threshold, 0.6);
    assert_eq!(config.tracker.endpoint.neg_threshold, Some(0.4));
    assert_eq!(config.tracker.endpoint.min_speech_ms, 250);
    // The stricter of the two old rules: 1 itself is not a usable threshold.
    assert_eq!(
        only_problem("[vad]\nthreshold = 1.0\n"),
        "vad.threshold: must be in (0, 1), got 1"
    );
    assert_eq!(
        only_problem("[vad]\nmin_speech_ms = 16\n"),
        "vad.min_speech_ms: must be ≥ 32 (one VAD chunk), got 16"
    );
    let err = Config::from_toml("[vad]\nthreshhold = 0.5\n", "t").unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
    assert!(err.to_string().contains("threshhold"), "{err}");
}

#[test]
fn a_value_of_the_wrong_type_is_a_parse_error() {
    let err = Config::from_toml("[speech]\nthreads = \"many\"\n", "t").unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
    assert!(!err.to_string().contains('\n'), "one line: {err}");
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let err = Config::from_file(Path::new("/no/such/perceptd.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert!(err.to_string().contains("/no/such/perceptd.toml"), "{err}");
}

#[test]
fn models_dir_given_on_the_command_line_replaces_the_files_everywhere() {
    let path = scratch_file(
        "models.toml",
        "models_dir = \"/from/file\"\n[vision]\nmodel = \"clip\"\n[vision.clip]\n\
         model = \"/c/m.onnx\"\nlabels = [\"cat\"]\n",
    );
    let config = Config::load(&path, Some(Path::new("/from/flag"))).unwrap();
    assert_eq!(config.models_dir, Path::new("/from/flag"));
    let VisionModel::Clip(clip) = &config.vision.model.model else {
        panic!("{:?}", config.vision.model);
    };
    assert!(clip.vocab.starts_with("/from/flag"), "{:?}", clip.vocab);
    assert_eq!(clip.files, ClipFiles::Combined("/c/m.onnx".into()));
    let unchanged = Config::load(&path, None).unwrap();
    assert_eq!(unchanged.models_dir, Path::new("/from/file"));
}

#[test]
fn the_demo_resolves_its_photo_in_the_models_dir() {
    let config = crate::app::demo_config(Some(Path::new("/models"))).unwrap();
    assert_eq!(config.models_dir, Path::new("/models"));
    let FrameSourceConfig::Images(images) = &config.cameras[0].source else {
        panic!("{:?}", config.cameras);
    };
    assert_eq!(
        images.path,
        Path::new("/models/clip-assets/franz-kafka.jpg")
    );
    assert!(config.log.published_messages);
    assert!(config.audio_enabled);
}

#[test]
fn a_camera_key_no_kind_takes_is_one_parse_error_line() {
    let err = Config::from_toml(
        "[vision]\ntop_k = 0\n[[camera]]\nkind = \"images\"\npath = \"/p\"\nfrobnicate = 1\n",
        "t",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConfigError::Parse { .. }), "{text}");
    assert!(
        text.starts_with("t: camera[0]: unknown field `frobnicate`, expected"),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
}
