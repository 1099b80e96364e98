//! JPEG/PNG files as a frame source: one file, or every `.jpg`/`.jpeg`/`.png` file in a
//! directory in name order, paced at `fps`; optionally looped, or (for a directory) watched for
//! new files.
//!
//! Watching polls the directory every [`WATCH_POLL`] (no inotify: it works the same on every
//! file system, including network mounts, and costs one directory listing per poll). A new
//! file is read once its size is the same on two polls in a row, so a file still being
//! written is not read half-done. Files already there at start are shown first.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use percept_dsp::RgbImage;
use percept_dsp::image::{DecodeLimits, decode_image_into};
use serde::Deserialize;

use super::config::{check_config_fps, defaults, required_path};
use super::pacer::{Pacer, check_fps};
use super::{
    FrameContext, FrameEnd, FrameSource, FrameSourceError, FrameSourceKind, FrameSourceSpec, offer,
};

/// How often a watched directory is listed.
pub const WATCH_POLL: Duration = Duration::from_millis(500);
/// Larger files are not read (no camera or photo JPEG/PNG within the decode limits is this big).
const MAX_FILE_BYTES: u64 = 256 << 20;

/// How to read image files.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagesSpec {
    /// A JPEG/PNG file, or a directory of them.
    pub path: PathBuf,
    /// Files shown per second.
    pub fps: f64,
    /// Watch the directory for new files after showing the existing ones (directories only).
    pub watch: bool,
    /// Start again from the first file after the last (not with `watch`).
    pub looping: bool,
    /// Largest image accepted; larger files are frame errors.
    pub limits: DecodeLimits,
}

impl ImagesSpec {
    /// `path` at 1 fps, not watched, not looped, default decode limits.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            fps: 1.0,
            watch: false,
            looping: false,
            limits: DecodeLimits::default(),
        }
    }
}

/// Shows image files as frames.
#[derive(Debug)]
pub struct ImagesSource {
    spec: ImagesSpec,
    files: Vec<PathBuf>,
}

impl ImagesSource {
    /// Checks the options and lists the files. A directory that is not watched must hold at
    /// least one image; unreadable or corrupt files are found later, one frame error each.
    pub fn open(spec: ImagesSpec) -> Result<Self, FrameSourceError> {
        check_fps("images", spec.fps)?;
        if spec.watch && spec.looping {
            return Err(FrameSourceError::InvalidConfig {
                rule: "images: loop and watch cannot both be set".into(),
            });
        }
        let read_error = |source| FrameSourceError::Read {
            path: spec.path.clone(),
            source,
        };
        let metadata = std::fs::metadata(&spec.path).map_err(read_error)?;
        let files = if metadata.is_dir() {
            let files = list_images(&spec.path).map_err(read_error)?;
            if files.is_empty() && !spec.watch {
                return Err(FrameSourceError::NoImages { path: spec.path });
            }
            files
        } else if spec.watch {
            return Err(FrameSourceError::InvalidConfig {
                rule: format!(
                    "images: watch needs a directory, {} is a file",
                    spec.path.display()
                ),
            });
        } else {
            vec![spec.path.clone()]
        };
        Ok(Self { spec, files })
    }

    /// The files found at open, in the order they are shown.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl FrameSource for ImagesSource {
    fn spec(&self) -> FrameSourceSpec {
        FrameSourceSpec {
            name: self.spec.path.display().to_string(),
            kind: FrameSourceKind::Images,
            size: None,
            fps: self.spec.fps,
        }
    }

    fn run(self: Box<Self>, cx: FrameContext) -> Result<FrameEnd, FrameSourceError> {
        let mut pacer = Pacer::new(self.spec.fps);
        let mut buffer = RgbImage::default();
        let mut queue: VecDeque<PathBuf> = self.files.iter().cloned().collect();
        let mut watcher = Watcher {
            seen: self.files.iter().cloned().collect(),
            growing: HashMap::new(),
        };
        loop {
            if let Some(path) = queue.pop_front() {
                if pacer.wait(cx.shutdown()) {
                    return Ok(FrameEnd::Shutdown);
                }
                // A list of only bad files never offers a frame: notice a closed receiver here.
                if let Some(end) = cx.stopped() {
                    return Ok(end);
                }
                match load(&path, &self.spec.limits, &mut buffer) {
                    Ok(()) => match offer(&cx, std::mem::take(&mut buffer)) {
                        Ok(reuse) => buffer = reuse,
                        Err(end) => return Ok(end),
                    },
                    Err(error) => cx.frame_error(&path.display().to_string(), &error),
                }
                if self.spec.looping && queue.is_empty() {
                    queue.extend(self.files.iter().cloned());
                }
                continue;
            }
            if !self.spec.watch {
                return Ok(FrameEnd::EndOfInput);
            }
            if cx.shutdown().sleep(WATCH_POLL) {
                return Ok(FrameEnd::Shutdown);
            }
            if let Some(end) = cx.stopped() {
                return Ok(end);
            }
            let ready = watcher
                .poll(&self.spec.path)
                .map_err(|source| FrameSourceError::Read {
                    path: self.spec.path.clone(),
                    source,
                })?;
            queue.extend(ready);
        }
    }
}

/// Finds new files in a watched directory and releases them once their size is stable.
#[derive(Debug)]
struct Watcher {
    seen: HashSet<PathBuf>,
    /// New files and their size at the last poll.
    growing: HashMap<PathBuf, u64>,
}

impl Watcher {
    fn poll(&mut self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        let mut ready = Vec::new();
        let mut still_growing = HashMap::new();
        for path in list_images(dir)? {
            if self.seen.contains(&path) {
                continue;
            }
            let Ok(size) = std::fs::metadata(&path).map(|m| m.len()) else {
                continue; // removed again since the listing
            };
            if self.growing.get(&path) == Some(&size) {
                self.seen.insert(path.clone());
                ready.push(path);
            } else {
                still_growing.insert(path, size);
            }
        }
        self.growing = still_growing;
        Ok(ready) // already in name order
    }
}

/// The `.jpg`, `.jpeg` and `.png` files (any case) in `dir`, sorted by name; hidden files
/// (editor and download temporaries) are left out.
fn list_images(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let visible = !name.to_string_lossy().starts_with('.');
        let image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["jpg", "jpeg", "png"].contains(&e.to_ascii_lowercase().as_str()));
        if visible && image && entry.file_type().is_ok_and(|t| !t.is_dir()) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads and decodes one file into `buffer`; the error is the line to report.
fn load(path: &Path, limits: &DecodeLimits, buffer: &mut RgbImage) -> Result<(), String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "file is {size} bytes; image files must be at most {MAX_FILE_BYTES} bytes"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    decode_image_into(&bytes, limits, buffer).map_err(|e| e.to_string())
}

/// `[[camera]] kind = "images"`: JPEG/PNG files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesConfig {
    /// The source's name: the `{source}` part of its topics. Default: `images`.
    #[serde(default = "default_name")]
    pub name: String,
    /// A file or a directory of them (sorted by name). Required.
    pub path: Option<PathBuf>,
    /// Files shown per second. Default: 1.
    #[serde(default = "default_fps")]
    pub fps: f32,
    /// Keep polling the directory for new files. Default: false.
    #[serde(default)]
    pub watch: bool,
    /// Start again at the end. Default: false.
    #[serde(default, rename = "loop")]
    pub looping: bool,
    /// At most this many frames per second reach the model; 0 means no limit. Default: 2.
    #[serde(default = "defaults::max_fps")]
    pub max_fps: f32,
    /// Frames whose downscaled grey difference to the last analysed frame is below this (mean
    /// absolute difference, 0–1) are skipped; 0 analyses every frame. Default: 0.02.
    #[serde(default = "defaults::motion_threshold")]
    pub motion_threshold: f32,
}

fn default_name() -> String {
    "images".into()
}

fn default_fps() -> f32 {
    1.0
}

impl ImagesConfig {
    /// Checks the kind's fields (problems under `key`); the spec when they pass.
    pub fn build(
        &self,
        key: &str,
        limits: DecodeLimits,
        problems: &mut Vec<String>,
    ) -> Option<ImagesSpec> {
        let before = problems.len();
        if self.watch && self.looping {
            problems.push(format!(
                "{key}: `watch` and `loop` cannot both be true (a watched directory keeps growing)"
            ));
        }
        let path = required_path(key, "images", &self.path, problems);
        check_config_fps(key, self.fps, problems);
        let path = path.filter(|_| problems.len() == before)?;
        Some(ImagesSpec {
            path: path.clone(),
            fps: f64::from(self.fps),
            watch: self.watch,
            looping: self.looping,
            limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("perceptd-images-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_directory_lists_its_images_by_name_and_leaves_out_the_rest() {
        let dir = scratch("list");
        for name in ["b.PNG", "a.jpg", "c.jpeg", "notes.txt", ".hidden.jpg"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.join("sub.jpg")).unwrap();
        let source = ImagesSource::open(ImagesSpec::new(&dir)).unwrap();
        let names: Vec<String> = source
            .files()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.jpg", "b.PNG", "c.jpeg"]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_options_and_paths_are_refused_at_open_with_their_rule() {
        let dir = scratch("options");
        let error = ImagesSource::open(ImagesSpec::new(&dir)).unwrap_err();
        assert!(
            error.to_string().ends_with("no .jpg, .jpeg or .png files"),
            "{error}"
        );
        let mut both = ImagesSpec::new(&dir);
        both.watch = true;
        both.looping = true;
        assert_eq!(
            ImagesSource::open(both).unwrap_err().to_string(),
            "images: loop and watch cannot both be set"
        );
        let mut zero = ImagesSpec::new(&dir);
        zero.fps = 0.0;
        assert_eq!(
            ImagesSource::open(zero).unwrap_err().to_string(),
            "images: fps must be within (0, 1000], got 0"
        );
        let missing = ImagesSource::open(ImagesSpec::new(dir.join("nope"))).unwrap_err();
        assert!(missing.to_string().starts_with("cannot read "), "{missing}");
        let file = dir.join("one.png");
        std::fs::write(&file, b"x").unwrap();
        let mut watch_file = ImagesSpec::new(&file);
        watch_file.watch = true;
        assert!(
            ImagesSource::open(watch_file)
                .unwrap_err()
                .to_string()
                .starts_with("images: watch needs a directory")
        );
        let mut watch_empty = ImagesSpec::new(&dir);
        watch_empty.watch = true;
        std::fs::remove_file(&file).unwrap();
        assert!(ImagesSource::open(watch_empty).is_ok());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_new_file_is_released_once_its_size_is_stable_over_two_polls() {
        let dir = scratch("watch");
        let mut watcher = Watcher {
            seen: HashSet::new(),
            growing: HashMap::new(),
        };
        let path = dir.join("new.jpg");
        std::fs::write(&path, b"half").unwrap();
        assert!(watcher.poll(&dir).unwrap().is_empty());
        std::fs::write(&path, b"half and the rest").unwrap();
        assert!(watcher.poll(&dir).unwrap().is_empty());
        assert_eq!(watcher.poll(&dir).unwrap(), vec![path.clone()]);
        assert!(watcher.poll(&dir).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).ok();
    }
}
