//! The `[[camera]]` tables compiled: each is read as its kind's [`CameraConfig`] on its own, so
//! a mistake in one is reported with its key path next to every other problem in the file.

use std::collections::HashSet;

use percept_dsp::image::DecodeLimits;
use serde::Deserialize;

use crate::frames::{CAMERA_KINDS, CameraConfig, CameraPlan};

/// Why a table is not a camera config.
#[derive(Debug, Clone, PartialEq)]
enum TableError {
    /// `kind` is missing or names no kind (what it was, as TOML).
    Kind(String),
    /// A key the kind does not take, with serde's list of the keys it does.
    UnknownField {
        /// The kind.
        kind: &'static str,
        /// The key.
        field: String,
        /// "expected one of `name`, …".
        expected: String,
    },
    /// Anything else serde says (a value of the wrong type).
    Other(String),
}

impl TableError {
    /// The `key…: rule` line.
    fn problem(&self, key: &str) -> String {
        match self {
            TableError::Kind(got) => format!(
                "{key}.kind: must be one of {}, got {got}",
                CAMERA_KINDS.join(", ")
            ),
            TableError::UnknownField {
                kind,
                field,
                expected,
            } => format!("{key}.{field}: not used by kind = {kind:?} ({expected})"),
            TableError::Other(message) => format!("{key}: {message}"),
        }
    }
}

/// Checks every camera table and the names across them (and against `source_names`, the audio
/// sources'), pushing `camera[i]…: rule` lines onto `problems`; the plans (one per table) when
/// they all pass.
pub fn compile_cameras(
    tables: &[toml::Table],
    limits: DecodeLimits,
    source_names: &HashSet<&str>,
    problems: &mut Vec<String>,
) -> Vec<CameraPlan> {
    let mut names = HashSet::new();
    let mut plans = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let key = format!("camera[{i}]");
        let name = match parse_camera(table) {
            Ok(camera) => {
                plans.extend(camera.build(&key, limits, problems));
                Some(camera.name().to_string())
            }
            Err(error) => {
                problems.push(error.problem(&key));
                written_name(table).map(str::to_string)
            }
        };
        let Some(name) = name else { continue };
        if !names.insert(name.clone()) {
            problems.push(format!("{key}.name: {name:?} is used by another camera"));
        }
        if source_names.contains(name.as_str()) {
            problems.push(format!(
                "camera: name {name:?} is also an audio source's name"
            ));
        }
    }
    plans
}

/// The first key in a camera table that no kind takes, as a one-line parse error message
/// (`camera[i]: unknown field …`): like every other unknown key in the file it stops the parse,
/// whereas a key of another kind is one problem among the rest.
pub fn unknown_camera_key(tables: &[toml::Table]) -> Option<String> {
    tables.iter().enumerate().find_map(|(i, table)| {
        let Err(TableError::UnknownField {
            field, expected, ..
        }) = parse_camera(table)
        else {
            return None;
        };
        let value = table.get(&field)?;
        let taken_by_some_kind = CAMERA_KINDS.iter().any(|kind| {
            let probe = toml::Table::from_iter([
                ("kind".to_string(), toml::Value::String((*kind).into())),
                (field.clone(), value.clone()),
            ]);
            !matches!(parse_camera(&probe), Err(TableError::UnknownField { .. }))
        });
        (!taken_by_some_kind).then(|| format!("camera[{i}]: unknown field `{field}`, {expected}"))
    })
}

/// One table as its kind's config.
fn parse_camera(table: &toml::Table) -> Result<CameraConfig, TableError> {
    let written = table.get("kind");
    let Some(kind) = written
        .and_then(toml::Value::as_str)
        .and_then(|k| CAMERA_KINDS.iter().find(|known| **known == k))
    else {
        return Err(TableError::Kind(
            written.map_or("nothing".into(), ToString::to_string),
        ));
    };
    CameraConfig::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let message = e.message();
        match unknown_field(message) {
            Some((field, expected)) => TableError::UnknownField {
                kind,
                field: field.to_string(),
                expected: expected.to_string(),
            },
            None => TableError::Other(message.to_string()),
        }
    })
}

/// The field and the rest of serde's "unknown field `x`, expected …" message (the wording of
/// serde's `Error::unknown_field`), if that is what `message` is.
fn unknown_field(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    Some((field, rest.trim_start_matches(", ")))
}

/// The name a table gives itself (or its kind's default), as far as it can be read.
fn written_name(table: &toml::Table) -> Option<&str> {
    table
        .get("name")
        .or_else(|| table.get("kind"))
        .and_then(toml::Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serdes_unknown_field_message_is_read_back() {
        let table: toml::Table = toml::from_str("kind = \"y4m\"\nwidth = 3\n").unwrap();
        let Err(TableError::UnknownField {
            kind,
            field,
            expected,
        }) = parse_camera(&table)
        else {
            panic!("{:?}", parse_camera(&table));
        };
        assert_eq!((kind, field.as_str()), ("y4m", "width"));
        assert!(expected.starts_with("expected one of `name`"), "{expected}");
    }
}
