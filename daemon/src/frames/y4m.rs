//! A YUV4MPEG2 (`.y4m`) video file as a frame source, paced at the frame rate in its header.
//!
//! Only 4:2:0 files (`C420jpeg`, `C420paldv`, `C420mpeg2`, `C420`, or no `C`) are read; chroma
//! siting and interlacing flags are ignored (chroma is taken from the nearest sample).
//! A file that ends inside a frame (a partial copy) reports that frame as a frame error and ends.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

use percept_dsp::RgbImage;
use percept_dsp::image::{DecodeLimits, i420_frame_len, i420_to_rgb_into};
use serde::Deserialize;

use super::config::{defaults, required_path};
use super::pacer::{Pacer, check_fps};
use super::{
    FrameContext, FrameEnd, FrameSource, FrameSourceError, FrameSourceKind, FrameSourceSpec, offer,
};

/// The stream header's magic word.
const MAGIC: &str = "YUV4MPEG2";
/// Longest stream or frame header line read.
const MAX_HEADER_LINE: u64 = 1024;

/// How to read a YUV4MPEG2 file.
#[derive(Debug, Clone, PartialEq)]
pub struct Y4mSpec {
    /// The `.y4m` file.
    pub path: PathBuf,
    /// Start again from the first frame after the last.
    pub looping: bool,
    /// Largest frame size accepted from the header.
    pub limits: DecodeLimits,
}

impl Y4mSpec {
    /// `path`, played once, default limits.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            looping: false,
            limits: DecodeLimits::default(),
        }
    }
}

/// What the stream header declares.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Header {
    width: usize,
    height: usize,
    fps: f64,
    /// Bytes up to and including the header's newline.
    len: u64,
}

/// Plays a YUV4MPEG2 file.
#[derive(Debug)]
pub struct Y4mSource {
    spec: Y4mSpec,
    header: Header,
    reader: BufReader<File>,
}

impl Y4mSource {
    /// Opens the file and checks its stream header.
    pub fn open(spec: Y4mSpec) -> Result<Self, FrameSourceError> {
        let file = File::open(&spec.path).map_err(|source| FrameSourceError::Read {
            path: spec.path.clone(),
            source,
        })?;
        let mut reader = BufReader::new(file);
        let header =
            read_header(&mut reader, &spec.limits).map_err(|reason| FrameSourceError::Y4m {
                path: spec.path.clone(),
                reason,
            })?;
        Ok(Self {
            spec,
            header,
            reader,
        })
    }
}

/// Reads one `\n`-terminated header line (without the newline), at most [`MAX_HEADER_LINE`]
/// bytes. `Ok(None)` at a clean end of file.
fn read_line(reader: &mut impl BufRead) -> Result<Option<String>, String> {
    let mut line = Vec::new();
    reader
        .take(MAX_HEADER_LINE)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("cannot read: {e}"))?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(format!(
            "header line is not terminated within {MAX_HEADER_LINE} bytes"
        ));
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| "header line is not text".into())
}

fn read_header(reader: &mut impl BufRead, limits: &DecodeLimits) -> Result<Header, String> {
    let line = read_line(reader)?.ok_or("the file is empty")?;
    let mut fields = line.split(' ');
    if fields.next() != Some(MAGIC) {
        return Err(format!("the file must start with {MAGIC:?}"));
    }
    let (mut width, mut height, mut fps) = (None, None, None);
    for field in fields.filter(|f| !f.is_empty()) {
        let tag_len = field.chars().next().map_or(0, char::len_utf8);
        let (tag, value) = field.split_at(tag_len);
        match tag {
            "W" => {
                width = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| format!("bad width {value:?}"))?,
                )
            }
            "H" => {
                height = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| format!("bad height {value:?}"))?,
                );
            }
            "F" => fps = Some(parse_ratio(value).ok_or(format!("bad frame rate {value:?}"))?),
            "C" if !value.starts_with("420") => {
                return Err(format!(
                    "colour space C{value} is not supported; only 4:2:0 (C420jpeg, C420paldv, C420mpeg2, C420)"
                ));
            }
            _ => {} // C420*, I (interlacing), A (aspect), X (comments)
        }
    }
    let width = width.ok_or("the header has no width (W)")?;
    let height = height.ok_or("the header has no height (H)")?;
    let fps = fps.ok_or("the header has no frame rate (F)")?;
    limits.check(width, height).map_err(|e| e.to_string())?;
    check_fps("y4m", fps).map_err(|e| e.to_string())?;
    Ok(Header {
        width,
        height,
        fps,
        len: line.len() as u64 + 1,
    })
}

fn parse_ratio(value: &str) -> Option<f64> {
    let (num, den) = value.split_once(':')?;
    let (num, den) = (num.parse::<u32>().ok()?, den.parse::<u32>().ok()?);
    (den > 0).then(|| f64::from(num) / f64::from(den))
}

/// The next frame's raw I420 bytes into `raw`: `Ok(true)` read, `Ok(false)` clean end,
/// `Err((message, fatal))` a bad frame header (fatal) or a frame cut short (end).
fn read_frame(reader: &mut impl BufRead, raw: &mut [u8]) -> Result<bool, (String, bool)> {
    let Some(line) = read_line(reader).map_err(|e| (e, true))? else {
        return Ok(false);
    };
    if line != "FRAME" && !line.starts_with("FRAME ") {
        return Err((format!("expected a FRAME header, found {line:?}"), true));
    }
    match reader.read_exact(raw) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err((
            format!(
                "the file ends inside the frame ({} bytes expected)",
                raw.len()
            ),
            false,
        )),
        Err(e) => Err((format!("cannot read: {e}"), true)),
    }
}

impl FrameSource for Y4mSource {
    fn spec(&self) -> FrameSourceSpec {
        FrameSourceSpec {
            name: self.spec.path.display().to_string(),
            kind: FrameSourceKind::Y4m,
            size: Some((self.header.width, self.header.height)),
            fps: self.header.fps,
        }
    }

    fn run(self: Box<Self>, cx: FrameContext) -> Result<FrameEnd, FrameSourceError> {
        let Self {
            spec,
            header,
            mut reader,
        } = *self;
        let mut pacer = Pacer::new(header.fps);
        let mut raw = vec![0; i420_frame_len(header.width, header.height)];
        let mut buffer = RgbImage::default();
        for index in 0u64.. {
            if pacer.wait(cx.shutdown()) {
                return Ok(FrameEnd::Shutdown);
            }
            let item = || format!("{} frame {index}", spec.path.display());
            match read_frame(&mut reader, &mut raw) {
                Ok(true) => {}
                Ok(false) if spec.looping && index > 0 => {
                    reader.seek(SeekFrom::Start(header.len)).map_err(|source| {
                        FrameSourceError::Read {
                            path: spec.path.clone(),
                            source,
                        }
                    })?;
                    continue;
                }
                Ok(false) => return Ok(FrameEnd::EndOfInput),
                Err((reason, true)) => {
                    return Err(FrameSourceError::Y4m {
                        path: spec.path.clone(),
                        reason: format!("frame {index}: {reason}"),
                    });
                }
                Err((reason, false)) => {
                    cx.frame_error(&item(), &reason);
                    return Ok(FrameEnd::EndOfInput);
                }
            }
            if let Err(error) = i420_to_rgb_into(&raw, header.width, header.height, &mut buffer) {
                cx.frame_error(&item(), &error);
                continue;
            }
            match offer(&cx, std::mem::take(&mut buffer)) {
                Ok(reuse) => buffer = reuse,
                Err(end) => return Ok(end),
            }
        }
        Ok(FrameEnd::EndOfInput)
    }
}

/// `[[camera]] kind = "y4m"`: a YUV4MPEG2 (4:2:0) file, paced at its own frame rate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Y4mConfig {
    /// The source's name: the `{source}` part of its topics. Default: `y4m`.
    #[serde(default = "default_name")]
    pub name: String,
    /// The file. Required.
    pub path: Option<PathBuf>,
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
    "y4m".into()
}

impl Y4mConfig {
    /// Checks the kind's fields (problems under `key`); the spec when they pass.
    pub fn build(
        &self,
        key: &str,
        limits: DecodeLimits,
        problems: &mut Vec<String>,
    ) -> Option<Y4mSpec> {
        let path = required_path(key, "y4m", &self.path, problems)?;
        Some(Y4mSpec {
            path: path.clone(),
            looping: self.looping,
            limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn header(text: &str) -> Result<Header, String> {
        read_header(&mut Cursor::new(text.as_bytes()), &DecodeLimits::default())
    }

    #[test]
    fn a_stream_header_gives_size_rate_and_length() {
        let parsed =
            header("YUV4MPEG2 W64 H48 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG\n").unwrap();
        assert_eq!((parsed.width, parsed.height), (64, 48));
        assert!((parsed.fps - 29.97).abs() < 0.001);
        assert_eq!(parsed.len, 62);
    }

    #[test]
    fn unusable_headers_say_what_is_wrong() {
        let cases = [
            ("", "the file is empty"),
            (
                "MPEG W1 H1 F1:1\n",
                "the file must start with \"YUV4MPEG2\"",
            ),
            ("YUV4MPEG2 H4 F1:1\n", "the header has no width (W)"),
            ("YUV4MPEG2 W4 H4\n", "the header has no frame rate (F)"),
            ("YUV4MPEG2 W4 H4 F1:0\n", "bad frame rate \"1:0\""),
            (
                "YUV4MPEG2 W4 H4 F1:1 C444\n",
                "colour space C444 is not supported",
            ),
            (
                "YUV4MPEG2 W60000 H60000 F1:1\n",
                "image is 60000x60000, larger than",
            ),
            ("YUV4MPEG2 W4 H4 F1:1", "header line is not terminated"),
        ];
        for (text, expected) in cases {
            let error = header(text).unwrap_err();
            assert!(error.starts_with(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn a_frame_cut_short_is_not_fatal_but_a_bad_frame_header_is() {
        let mut raw = vec![0; 6];
        let mut cut = Cursor::new(b"FRAME\n\x01\x02".to_vec());
        assert!(!read_frame(&mut cut, &mut raw).unwrap_err().1);
        let mut bad = Cursor::new(b"FRAMX\n\x01\x02\x03\x04\x05\x06".to_vec());
        assert!(read_frame(&mut bad, &mut raw).unwrap_err().1);
        let mut good = Cursor::new(b"FRAME Ixx\n\x01\x02\x03\x04\x05\x06".to_vec());
        assert_eq!(read_frame(&mut good, &mut raw), Ok(true));
        assert_eq!(raw, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(read_frame(&mut good, &mut raw), Ok(false));
    }
}
