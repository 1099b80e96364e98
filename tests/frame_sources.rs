//! The images, synthetic and y4m frame sources, each through the one conformance check; bad
//! input in an image directory; the motion gate's "static scene costs one inference"; and
//! spawning a source on its own thread.

mod frame_conformance;

use std::time::Duration;

use frame_conformance::fixtures::{
    i420, jpeg, jpeg_sof_header, picture, png, png_bomb, png_huge_claim, png_zero, scratch,
    write_y4m,
};
use frame_conformance::{Expected, check_frame_source, check_static_scene_sends_one_frame, start};
use percept_dsp::RgbImage;
use percept_dsp::image::{DecodeLimits, decode_image, i420_to_rgb_into};
use perceptd::frames::{
    FrameContext, FrameEnd, FramePolicy, FrameSource, FrameSourceConfig, FrameSourceKind,
    ImagesSource, ImagesSpec, SyntheticPattern, SyntheticSource, SyntheticSpec, Y4mSource, Y4mSpec,
    spawn_frame_source,
};
use perceptd::health::{Counter, Metrics};
use perceptd::shutdown::Shutdown;
use perceptd::supervise::RestartPolicy;

fn images_spec(path: &std::path::Path, looping: bool) -> ImagesSpec {
    ImagesSpec {
        fps: 200.0,
        looping,
        ..ImagesSpec::new(path)
    }
}

#[test]
fn a_directory_of_jpeg_and_png_files_passes_the_conformance_check() {
    let dir = scratch("conformance");
    let mut expected = Vec::new();
    for n in 0..5 {
        let image = picture(64, 48, n);
        let bytes = if n % 2 == 0 {
            jpeg(&image)
        } else {
            png(&image)
        };
        let name = format!("{n:02}.{}", if n % 2 == 0 { "jpg" } else { "png" });
        std::fs::write(dir.join(name), &bytes).unwrap();
        expected.push(decode_image(&bytes, &DecodeLimits::default()).unwrap());
    }
    let spec = ImagesSource::open(images_spec(&dir, false)).unwrap().spec();
    assert_eq!((spec.kind, spec.size), (FrameSourceKind::Images, None));
    check_frame_source(
        &|| Box::new(ImagesSource::open(images_spec(&dir, false)).unwrap()),
        &|| Box::new(ImagesSource::open(images_spec(&dir, true)).unwrap()),
        &Expected {
            size: (64, 48),
            images: Some(&expected),
            count: 5,
        },
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_single_image_file_passes_the_conformance_check() {
    let dir = scratch("single");
    let path = dir.join("one.png");
    let image = picture(40, 30, 3);
    std::fs::write(&path, png(&image)).unwrap();
    check_frame_source(
        &|| Box::new(ImagesSource::open(images_spec(&path, false)).unwrap()),
        &|| Box::new(ImagesSource::open(images_spec(&path, true)).unwrap()),
        &Expected {
            size: (40, 30),
            images: Some(std::slice::from_ref(&image)),
            count: 1,
        },
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_synthetic_source_passes_the_conformance_check() {
    let spec = |frames| SyntheticSpec {
        width: 96,
        height: 64,
        fps: 200.0,
        pattern: SyntheticPattern::Moving,
        frames,
    };
    check_frame_source(
        &|| Box::new(SyntheticSource::open(spec(Some(12))).unwrap()),
        &|| Box::new(SyntheticSource::open(spec(None)).unwrap()),
        &Expected {
            size: (96, 64),
            images: None,
            count: 12,
        },
    );
}

#[test]
fn a_y4m_file_passes_the_conformance_check() {
    let dir = scratch("y4m");
    let path = dir.join("clip.y4m");
    // Odd width: chroma planes are rounded up.
    let frames: Vec<RgbImage> = (0..6).map(|n| picture(33, 24, n)).collect();
    write_y4m(&path, &frames, 200);
    let expected: Vec<RgbImage> = frames
        .iter()
        .map(|frame| {
            let mut rgb = RgbImage::default();
            i420_to_rgb_into(&i420(frame), 33, 24, &mut rgb).unwrap();
            rgb
        })
        .collect();
    let source = Y4mSource::open(Y4mSpec::new(&path)).unwrap();
    assert_eq!(source.spec().fps, 200.0);
    let spec = |looping| Y4mSpec {
        looping,
        ..Y4mSpec::new(&path)
    };
    check_frame_source(
        &|| Box::new(Y4mSource::open(spec(false)).unwrap()),
        &|| Box::new(Y4mSource::open(spec(true)).unwrap()),
        &Expected {
            size: (33, 24),
            images: Some(&expected),
            count: 6,
        },
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_image_files_are_counted_errors_and_the_source_continues_with_the_next_file() {
    let dir = scratch("bad-input");
    let good = picture(64, 48, 1);
    let good_jpeg = jpeg(&picture(64, 48, 5));
    let files: [(&str, Vec<u8>); 9] = [
        ("01-good.png", png(&good)),
        (
            "02-truncated.jpg",
            good_jpeg[..good_jpeg.len() / 2].to_vec(),
        ),
        ("03-zero.png", png_zero()),
        (
            "04-claims-60000x60000.jpg",
            jpeg_sof_header(0, 8, 60000, 60000),
        ),
        ("05-bomb.png", png_bomb()),
        ("06-claims-60000x60000.png", png_huge_claim()),
        ("07-twelve-bit.jpg", jpeg_sof_header(1, 12, 64, 48)),
        ("08-not-an-image.png", b"hello, I am text".to_vec()),
        ("09-good.jpg", good_jpeg.clone()),
    ];
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    assert!(std::fs::metadata(dir.join("05-bomb.png")).unwrap().len() < 128 * 1024);
    let source = ImagesSource::open(images_spec(&dir, false)).unwrap();
    let (frames, end, metrics) = start(Box::new(source), 16, FramePolicy::default()).drain();
    assert_eq!(end, FrameEnd::EndOfInput);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].image, good);
    assert_eq!(
        frames[1].image,
        decode_image(&good_jpeg, &DecodeLimits::default()).unwrap()
    );
    assert_eq!(metrics.get(Counter::FrameErrors), 7);
    assert_eq!(metrics.get(Counter::FramesCaptured), 2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_static_synthetic_scene_of_100_frames_sends_exactly_one() {
    check_static_scene_sends_one_frame(&|| {
        Box::new(
            SyntheticSource::open(SyntheticSpec {
                width: 160,
                height: 120,
                fps: 1000.0,
                pattern: SyntheticPattern::Solid([90, 120, 30]),
                frames: Some(100),
            })
            .unwrap(),
        )
    });
}

#[test]
fn a_static_scene_of_100_identical_image_files_sends_exactly_one() {
    let dir = scratch("static-images");
    let bytes = jpeg(&picture(64, 48, 2));
    for n in 0..100 {
        std::fs::write(dir.join(format!("{n:03}.jpg")), &bytes).unwrap();
    }
    check_static_scene_sends_one_frame(&|| {
        Box::new(
            ImagesSource::open(ImagesSpec {
                fps: 1000.0,
                ..ImagesSpec::new(&dir)
            })
            .unwrap(),
        )
    });
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_static_y4m_clip_of_100_frames_sends_exactly_one() {
    let dir = scratch("static-y4m");
    let path = dir.join("still.y4m");
    write_y4m(&path, &vec![picture(32, 24, 0); 100], 1000);
    check_static_scene_sends_one_frame(&|| Box::new(Y4mSource::open(Y4mSpec::new(&path)).unwrap()));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_watched_directory_delivers_files_that_appear_later() {
    let dir = scratch("watch");
    std::fs::write(dir.join("a.png"), png(&picture(32, 24, 0))).unwrap();
    let spec = ImagesSpec {
        fps: 100.0,
        watch: true,
        ..ImagesSpec::new(&dir)
    };
    let running = start(
        Box::new(ImagesSource::open(spec).unwrap()),
        4,
        FramePolicy::default(),
    );
    assert_eq!(running.recv().unwrap().seq, 0);
    let later = picture(32, 24, 9);
    std::fs::write(dir.join("b.png"), png(&later)).unwrap();
    let frame = running.recv().unwrap();
    assert_eq!((frame.seq, &frame.image), (1, &later));
    running.shutdown.trigger();
    assert_eq!(
        running.join_within(Duration::from_secs(5)).unwrap(),
        FrameEnd::Shutdown
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn max_fps_skips_frames_of_a_faster_source_and_counts_them() {
    let source = SyntheticSource::open(SyntheticSpec {
        width: 32,
        height: 24,
        fps: 200.0,
        pattern: SyntheticPattern::Moving,
        frames: Some(40),
    })
    .unwrap();
    let policy = FramePolicy {
        max_fps: Some(20.0),
        motion_threshold: 0.0,
    };
    let (frames, end, metrics) = start(Box::new(source), 64, policy).drain();
    assert_eq!(end, FrameEnd::EndOfInput);
    let sent = metrics.get(Counter::FramesSent);
    assert_eq!(frames.len() as u64, sent);
    assert_eq!(sent + metrics.get(Counter::FramesSkippedRate), 40);
    // 40 frames at 200 fps span about 0.2 s: about 4 of them at 20 fps, never all of them.
    assert!((1..40).contains(&sent), "sent {sent}");
}

#[test]
fn spawn_runs_a_source_on_its_own_thread_and_a_bad_path_fails_at_once() {
    let metrics = Metrics::new();
    let (cx, rx) = FrameContext::new(
        "demo",
        8,
        FramePolicy::default(),
        Shutdown::new(),
        metrics.clone(),
    )
    .unwrap();
    let config = FrameSourceConfig::Synthetic(SyntheticSpec {
        fps: 500.0,
        frames: Some(3),
        ..SyntheticSpec::default()
    });
    let thread = spawn_frame_source(config, cx.clone(), RestartPolicy::default()).unwrap();
    assert_eq!(thread.join().unwrap().unwrap(), FrameEnd::EndOfInput);
    let seqs: Vec<u64> = std::iter::from_fn(|| rx.try_recv())
        .map(|f| f.seq)
        .collect();
    assert_eq!(seqs, vec![0, 1, 2]);

    let missing = FrameSourceConfig::Images(ImagesSpec::new("/nonexistent/frames"));
    let error = spawn_frame_source(missing, cx, RestartPolicy::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot read /nonexistent/frames: "),
        "{error}"
    );
}
