//! Which engine runs a Whisper model, at which precision, on how many threads.
//!
//! - [`EngineKind::Native`]: perceptd's own kernels (`percept-compute`), reading
//!   `native-int8.safetensors` or `native-f16.safetensors` from the model directory;
//! - [`EngineKind::Tract`]: the ONNX graphs on tract, f32 only: the numeric oracle of the tests.

use std::fmt;
use std::str::FromStr;

/// The engine that runs a Whisper model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// perceptd's own CPU kernels (the default).
    #[default]
    Native,
    /// The ONNX graphs on tract (f32): the oracle, and a fallback.
    Tract,
}

/// The numeric precision of the weights in the matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// int8 weights per output row, activations quantized per row on the fly (the default).
    #[default]
    Int8,
    /// f32 throughout (the weights are CTranslate2's float16 values, widened exactly).
    F32,
}

/// How to load a Whisper model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// The engine.
    pub engine: EngineKind,
    /// The precision (tract supports only [`Precision::F32`]).
    pub precision: Precision,
    /// Worker threads for one model call (at least 1).
    pub threads: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            engine: EngineKind::Native,
            precision: Precision::Int8,
            threads: 1,
        }
    }
}

impl EngineOptions {
    /// The tract oracle (f32), as every release before the native engine ran.
    pub fn tract() -> Self {
        Self {
            engine: EngineKind::Tract,
            precision: Precision::F32,
            threads: 1,
        }
    }

    /// The native engine at `precision`.
    pub fn native(precision: Precision) -> Self {
        Self {
            engine: EngineKind::Native,
            precision,
            threads: 1,
        }
    }

    /// The same options with `threads` worker threads.
    pub fn with_threads(self, threads: usize) -> Self {
        Self {
            threads: threads.max(1),
            ..self
        }
    }

    /// A short label, e.g. `native int8` or `tract f32`.
    pub fn label(&self) -> String {
        format!("{} {}", self.engine, self.precision)
    }
}

/// A name that is not an engine or a precision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {name:?}; expected one of: {expected}")]
pub struct UnknownName {
    what: &'static str,
    name: String,
    expected: &'static str,
}

impl FromStr for EngineKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(Self::Native),
            "tract" => Ok(Self::Tract),
            _ => Err(UnknownName {
                what: "engine",
                name: s.into(),
                expected: "native, tract",
            }),
        }
    }
}

impl FromStr for Precision {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "int8" => Ok(Self::Int8),
            "f32" => Ok(Self::F32),
            _ => Err(UnknownName {
                what: "precision",
                name: s.into(),
                expected: "int8, f32",
            }),
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Native => "native",
            Self::Tract => "tract",
        })
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Int8 => "int8",
            Self::F32 => "f32",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for e in [EngineKind::Native, EngineKind::Tract] {
            assert_eq!(e.to_string().parse::<EngineKind>().unwrap(), e);
        }
        for p in [Precision::Int8, Precision::F32] {
            assert_eq!(p.to_string().parse::<Precision>().unwrap(), p);
        }
        let err = "fp16".parse::<Precision>().unwrap_err().to_string();
        assert!(err.contains("int8, f32"), "{err}");
        assert!("onnx".parse::<EngineKind>().is_err());
    }
}
