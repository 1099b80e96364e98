//! `perceptd run` with cameras, end to end: an `images` source with the real franz-kafka.jpg
//! photo and synthetic images → EfficientNet-Lite0 (real weights) → label events, captions,
//! embeddings and snapshots on a real broker (Mosquitto on 127.0.0.1:1883, and the embedded
//! broker). Needs `perceptd models fetch`.

mod common;

#[path = "frame_conformance/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::stream::{
    Daemon, MOSQUITTO_URL, Received, Subscriber, config_head, one_at_a_time, unique_prefix,
};
use common::{models_dir, perceptd, scratch_dir, stdout};
use percept_dsp::RgbImage;
use percept_dsp::image::encode_jpeg;
use perceptd::vision::embedding::{EmbeddingDtype, decode_vector};
use serde_json::Value;

const DEVICE: &str = "testbox";

fn kafka() -> PathBuf {
    let path = models_dir().join("clip-assets/franz-kafka.jpg");
    assert!(
        path.is_file(),
        "{} missing: run `perceptd models fetch`",
        path.display()
    );
    path
}

/// A synthetic picture: a horizontal colour gradient over a solid background.
fn synthetic_jpeg(path: &Path, rgb: [u8; 3]) {
    let mut image = RgbImage::filled(320, 240, rgb);
    for y in 0..240 {
        for x in 0..320 {
            let i = (y * 320 + x) * 3;
            image.data[i] = image.data[i].saturating_add((x / 4) as u8);
        }
    }
    std::fs::write(path, encode_jpeg(&image, 90).unwrap()).unwrap();
}

/// Copies the photo and writes synthetic images into `dir`, in name order: the photo, a blue
/// picture, a truncated copy of the photo (a bad frame), a green picture.
fn fill_image_dir(dir: &Path) {
    std::fs::copy(kafka(), dir.join("01-kafka.jpg")).unwrap();
    synthetic_jpeg(&dir.join("02-blue.jpg"), [20, 40, 200]);
    let photo = std::fs::read(kafka()).unwrap();
    std::fs::write(dir.join("03-truncated.jpg"), &photo[..photo.len() / 3]).unwrap();
    synthetic_jpeg(&dir.join("04-green.jpg"), [30, 180, 40]);
}

fn config(prefix: &str, images: &Path, mqtt_extra: &str, camera_extra: &str) -> String {
    let head = config_head(DEVICE, prefix, mqtt_extra);
    format!(
        r#"{head}
[vision]
embedding_interval_ms = 0
embedding_dtype = "f32"
min_dwell_ms = 0
snapshot = true
[[camera]]
kind = "images"
name = "shelf"
path = "{}"
fps = 4
max_fps = 0
{camera_extra}
"#,
        images.display()
    )
}

/// A subscriber to the text topics of the camera (the snapshot is binary).
fn camera_subscriber(port: u16, prefix: &str) -> Subscriber {
    let topics: Vec<String> = ["labels", "caption", "embedding"]
        .iter()
        .map(|leaf| format!("{prefix}/{DEVICE}/camera/shelf/{leaf}"))
        .collect();
    let filters: Vec<&str> = topics.iter().map(String::as_str).collect();
    Subscriber::start_filters(port, &filters, None)
}

fn payloads(messages: &[Received], prefix: &str, leaf: &str) -> Vec<Value> {
    let topic = format!("{prefix}/{DEVICE}/camera/shelf/{leaf}");
    messages
        .iter()
        .filter(|m| m.topic == topic)
        .map(|m| serde_json::from_str(&m.payload).expect("camera payloads are JSON"))
        .collect()
}

/// `perceptd embed` on the photo: the model's output through the same code path.
fn embed_cli(image: &Path) -> Vec<f32> {
    let out = perceptd()
        .args(["embed", "--json", "--models-dir"])
        .arg(models_dir())
        .arg(image)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// The acceptance checks shared by both brokers.
fn assert_vision_messages(messages: &[Received], prefix: &str) {
    let labels = payloads(messages, prefix, "labels");
    let suit = labels
        .iter()
        .find(|v| v["entered"].as_array().unwrap().iter().any(|l| l == "suit"))
        .unwrap_or_else(|| panic!("a label event with \"suit\" entering; got {labels:#?}"));
    assert_eq!(suit["model"], "efficientnet-lite0");
    assert_eq!(suit["synthetic"], false);
    assert_eq!(suit["labels"][0]["label"], "suit");
    assert!(
        suit["labels"][0]["probability"].as_f64().unwrap() >= 0.8,
        "{suit}"
    );
    assert!(
        labels
            .iter()
            .any(|v| v["exited"].as_array().unwrap().iter().any(|l| l == "suit")),
        "suit leaves when the blue picture comes: {labels:#?}"
    );
    let seq = suit["frame_seq"].as_u64().unwrap();

    let captions = payloads(messages, prefix, "caption");
    let caption = captions
        .iter()
        .find(|v| v["frame_seq"].as_u64() == Some(seq))
        .unwrap_or_else(|| panic!("a caption for frame {seq}: {captions:#?}"));
    assert_eq!(caption["caption"], "suit, Windsor tie");

    let embeddings = payloads(messages, prefix, "embedding");
    let envelope = embeddings
        .iter()
        .find(|v| v["frame_seq"].as_u64() == Some(seq))
        .unwrap_or_else(|| panic!("an embedding for frame {seq}"));
    assert_eq!(envelope["dim"], 1280);
    assert_eq!(envelope["dtype"], "f32");
    assert_eq!(envelope["l2_normalized"], true);
    assert_eq!(envelope["source"], "shelf");
    let published = decode_vector(envelope["data"].as_str().unwrap(), EmbeddingDtype::F32).unwrap();
    let expected = embed_cli(&kafka());
    assert_eq!(published.len(), expected.len());
    let max_diff = published
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        max_diff <= 1e-6,
        "published embedding differs from the model's output by {max_diff}"
    );
    // One embedding per analysed frame (interval 0): the photo and the two good pictures.
    assert_eq!(embeddings.len(), 3, "{} embeddings", embeddings.len());
}

#[test]
fn photo_and_synthetic_images_give_labels_caption_and_embedding_on_mosquitto() {
    let _one = one_at_a_time();
    let dir = scratch_dir("vision-mosquitto");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    fill_image_dir(&images);
    let prefix = unique_prefix("vision");
    let subscriber = camera_subscriber(1883, &prefix);
    let mut daemon = Daemon::start(&dir, &config(&prefix, &images, MOSQUITTO_URL, ""));
    let status = daemon
        .wait(Duration::from_secs(120))
        .expect("the daemon exits after the last image");
    assert!(status.success(), "exit status {status}");
    assert!(
        subscriber.wait_until(Duration::from_secs(10), |m| {
            payloads(m, &prefix, "embedding").len() >= 3
        }),
        "three embeddings arrive; daemon log:\n{}",
        daemon.log.snapshot().join("\n")
    );
    assert_vision_messages(&subscriber.messages(), &prefix);
    assert_eq!(
        daemon.final_counter("frame_errors"),
        Some(1),
        "the truncated JPEG"
    );
    assert_eq!(daemon.final_counter("frames_analyzed"), Some(3));
    let warning = daemon
        .log
        .snapshot()
        .into_iter()
        .find(|l| l.contains("03-truncated.jpg"))
        .expect("one warning names the bad file");
    assert!(warning.contains("WARN"), "{warning}");
}

#[test]
fn a_watched_directory_gives_the_same_messages_and_a_snapshot_on_the_embedded_broker() {
    let _one = one_at_a_time();
    let dir = scratch_dir("vision-embedded");
    let images = dir.join("inbox");
    std::fs::create_dir_all(&images).unwrap();
    let prefix = unique_prefix("vision-embedded");
    let mut daemon = Daemon::start(&dir, &config(&prefix, &images, "", "watch = true"));
    let port = daemon.embedded_broker_port();
    let subscriber = camera_subscriber(port, &prefix);
    // The snapshot is binary: a second subscriber takes exactly one message, raw.
    let snapshot = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-C",
            "1",
            "-N",
            "-W",
            "60",
        ])
        .args(["-t", &format!("{prefix}/{DEVICE}/camera/shelf/snapshot")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // Files written elsewhere and moved in: the watcher never sees a half-written file.
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    fill_image_dir(&staging);
    for entry in std::fs::read_dir(&staging).unwrap() {
        let path = entry.unwrap().path();
        std::fs::rename(&path, images.join(path.file_name().unwrap())).unwrap();
    }
    assert!(
        subscriber.wait_until(Duration::from_secs(90), |m| {
            payloads(m, &prefix, "embedding").len() >= 3
        }),
        "three embeddings arrive"
    );
    daemon.sigterm();
    let status = daemon.wait(Duration::from_secs(30)).expect("clean exit");
    assert!(status.success(), "exit status {status}");
    assert_vision_messages(&subscriber.messages(), &prefix);
    let jpeg = snapshot.wait_with_output().unwrap().stdout;
    assert!(
        jpeg.starts_with(&[0xFF, 0xD8, 0xFF]),
        "the snapshot is a JPEG"
    );
    let thumb = percept_dsp::image::decode_image(&jpeg, &Default::default()).unwrap();
    assert_eq!(
        thumb.width.max(thumb.height),
        320,
        "longer side = snapshot_max_side"
    );
}

#[test]
fn a_static_scene_of_100_frames_costs_the_daemon_one_inference() {
    let _one = one_at_a_time();
    let dir = scratch_dir("vision-static");
    let video = dir.join("static.y4m");
    let frame = fixtures::picture(160, 120, 3);
    fixtures::write_y4m(&video, &vec![frame; 100], 50);
    let prefix = unique_prefix("vision-static");
    let head = config_head(DEVICE, &prefix, MOSQUITTO_URL);
    let config = format!(
        r#"{head}
[[camera]]
kind = "y4m"
name = "shelf"
path = "{}"
max_fps = 0
"#,
        video.display()
    );
    let mut daemon = Daemon::start(&dir, &config);
    let status = daemon
        .wait(Duration::from_secs(60))
        .expect("the daemon exits at the end of the video");
    assert!(status.success(), "exit status {status}");
    assert_eq!(daemon.final_counter("frames_captured"), Some(100));
    assert_eq!(daemon.final_counter("frames_skipped_motion"), Some(99));
    assert_eq!(daemon.final_counter("frames_analyzed"), Some(1));
}
