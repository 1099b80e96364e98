//! A reader for the safetensors files `whisper_native.py` writes: a little-endian u64 header
//! length, a JSON header naming each tensor's dtype, shape and byte range, then the data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use half::f16;
use serde::Deserialize;

use super::super::error::WhisperError;

/// The `__metadata__` "format" the native engine reads.
pub const FORMAT: &str = "perceptd-whisper-native";
/// The format version it reads.
pub const VERSION: &str = "1";

/// Largest header accepted (the real ones are ~20 KB).
const MAX_HEADER: u64 = 16 << 20;

#[derive(Debug, Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// A tensor's element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// IEEE half.
    F16,
    /// IEEE single.
    F32,
    /// Signed bytes.
    I8,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F16 => 2,
            Dtype::F32 => 4,
            Dtype::I8 => 1,
        }
    }
}

struct Info {
    dtype: Dtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// A whole safetensors file in memory, its header checked against the data.
pub struct SafeTensors {
    path: PathBuf,
    bytes: Vec<u8>,
    data_start: usize,
    tensors: BTreeMap<String, Info>,
    metadata: BTreeMap<String, String>,
}

impl SafeTensors {
    /// Reads and checks `path`: every tensor's byte range lies in the file and matches its shape.
    pub fn read(path: &Path) -> Result<Self, WhisperError> {
        let bytes = std::fs::read(path).map_err(|e| WhisperError::io(path, e))?;
        Self::parse(path, bytes)
    }

    fn parse(path: &Path, bytes: Vec<u8>) -> Result<Self, WhisperError> {
        let bad = |reason: String| WhisperError::bad_model(path, reason);
        let len_bytes: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("shorter than a safetensors header".into()))?;
        let header_len = u64::from_le_bytes(len_bytes);
        if header_len > MAX_HEADER || 8 + header_len > bytes.len() as u64 {
            return Err(bad(format!(
                "header length {header_len} does not fit the file"
            )));
        }
        let data_start = 8 + header_len as usize;
        let header: BTreeMap<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..data_start])
                .map_err(|e| bad(format!("header is not JSON: {e}")))?;
        let data_len = bytes.len() - data_start;
        let mut tensors = BTreeMap::new();
        let mut metadata = BTreeMap::new();
        for (name, value) in header {
            if name == "__metadata__" {
                metadata =
                    serde_json::from_value(value).map_err(|e| bad(format!("__metadata__: {e}")))?;
                continue;
            }
            let entry: Entry =
                serde_json::from_value(value).map_err(|e| bad(format!("tensor {name}: {e}")))?;
            let dtype = match entry.dtype.as_str() {
                "F16" => Dtype::F16,
                "F32" => Dtype::F32,
                "I8" => Dtype::I8,
                other => return Err(bad(format!("tensor {name}: unsupported dtype {other}"))),
            };
            let [start, end] = entry.data_offsets;
            let count = entry
                .shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or_else(|| bad(format!("tensor {name}: shape overflows")))?;
            if start > end || end > data_len || end - start != count * dtype.size() {
                return Err(bad(format!(
                    "tensor {name}: bytes {start}..{end} do not hold {:?} {dtype:?} in {data_len} data bytes",
                    entry.shape
                )));
            }
            tensors.insert(
                name,
                Info {
                    dtype,
                    shape: entry.shape,
                    start,
                    end,
                },
            );
        }
        let format = metadata.get("format").map(String::as_str);
        let version = metadata.get("version").map(String::as_str);
        if format != Some(FORMAT) || version != Some(VERSION) {
            return Err(bad(format!(
                "not a perceptd native Whisper file (format {format:?}, version {version:?}; \
                 expected {FORMAT:?} {VERSION:?}): run `perceptd models fetch`"
            )));
        }
        Ok(Self {
            path: path.to_path_buf(),
            bytes,
            data_start,
            tensors,
            metadata,
        })
    }

    /// The file's `__metadata__` value for `key`.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    fn info(&self, name: &str, shape: &[usize]) -> Result<&Info, WhisperError> {
        let info = self.tensors.get(name).ok_or_else(|| {
            WhisperError::bad_model(&self.path, format!("tensor {name} is missing"))
        })?;
        if info.shape != shape {
            return Err(WhisperError::bad_model(
                &self.path,
                format!(
                    "tensor {name} has shape {:?}, expected {shape:?}",
                    info.shape
                ),
            ));
        }
        Ok(info)
    }

    fn raw(&self, info: &Info) -> &[u8] {
        &self.bytes[self.data_start + info.start..self.data_start + info.end]
    }

    /// Tensor `name` of `shape` as f32 (f16 widened exactly).
    pub fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, WhisperError> {
        let info = self.info(name, shape)?;
        let raw = self.raw(info);
        match info.dtype {
            Dtype::F16 => Ok(raw
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect()),
            Dtype::F32 => Ok(raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()),
            Dtype::I8 => Err(WhisperError::bad_model(
                &self.path,
                format!("tensor {name} is int8, expected a float tensor"),
            )),
        }
    }

    /// Tensor `name` of `shape` as int8.
    pub fn i8(&self, name: &str, shape: &[usize]) -> Result<Vec<i8>, WhisperError> {
        let info = self.info(name, shape)?;
        if info.dtype != Dtype::I8 {
            return Err(WhisperError::bad_model(
                &self.path,
                format!("tensor {name} is {:?}, expected I8", info.dtype),
            ));
        }
        Ok(self.raw(info).iter().map(|&b| b as i8).collect())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    const META: &str = r#""__metadata__":{"format":"perceptd-whisper-native","version":"1"}"#;

    #[test]
    fn reads_f16_f32_and_i8_tensors() {
        let header = format!(
            r#"{{{META},"a":{{"dtype":"F16","shape":[2],"data_offsets":[0,4]}},"b":{{"dtype":"I8","shape":[1,2],"data_offsets":[4,6]}},"c":{{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}}}"#
        );
        let mut data = f16::from_f32(1.5).to_le_bytes().to_vec();
        data.extend(f16::from_f32(-2.0).to_le_bytes());
        data.extend([0xff, 0x07, 0, 0]);
        data.extend(0.25f32.to_le_bytes());
        let st = SafeTensors::parse(Path::new("t"), file(&header, &data)).unwrap();
        assert_eq!(st.f32("a", &[2]).unwrap(), vec![1.5, -2.0]);
        assert_eq!(st.i8("b", &[1, 2]).unwrap(), vec![-1, 7]);
        assert_eq!(st.f32("c", &[1]).unwrap(), vec![0.25]);
        let err = st.f32("a", &[3]).unwrap_err().to_string();
        assert!(err.contains("has shape [2], expected [3]"), "{err}");
        assert!(
            st.f32("zz", &[1])
                .unwrap_err()
                .to_string()
                .contains("missing")
        );
        assert!(st.f32("b", &[1, 2]).is_err());
    }

    #[test]
    fn rejects_truncated_data_foreign_files_and_hostile_headers() {
        let header =
            format!(r#"{{{META},"a":{{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}}}"#);
        let err = SafeTensors::parse(Path::new("t"), file(&header, &[0; 6]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("do not hold"), "{err}");
        let foreign = r#"{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#;
        let err = SafeTensors::parse(Path::new("t"), file(foreign, &[0; 2]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("models fetch"), "{err}");
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend([0; 16]);
        assert!(SafeTensors::parse(Path::new("t"), huge).is_err());
        assert!(SafeTensors::parse(Path::new("t"), vec![1, 2]).is_err());
        let overflow = format!(
            r#"{{{META},"a":{{"dtype":"F16","shape":[4294967296,4294967296],"data_offsets":[0,8]}}}}"#
        );
        assert!(SafeTensors::parse(Path::new("t"), file(&overflow, &[0; 8])).is_err());
    }
}
